package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/seed3787e6f1/detour/internal/api/wire"
	"github.com/seed3787e6f1/detour/providers"
)

// planTimeout bounds reading every provider for a plan.
const planTimeout = 20 * time.Second

func (s *Server) plan(w http.ResponseWriter, r *http.Request) {
	if s.planner == nil {
		writeError(w, http.StatusServiceUnavailable, "this node has no provider manager")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), planTimeout)
	defer cancel()
	plans, err := s.planner.Plan(ctx, r.URL.Query().Get("provider"))
	switch {
	case errors.Is(err, providers.ErrUnknownProvider):
		writeError(w, http.StatusNotFound, "%v", err)
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	out := convertSlice(plans, wirePlan)
	if out == nil {
		out = []wire.Plan{}
	}
	writeJSON(w, http.StatusOK, PlanResponse{Plans: out})
}
