package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/seed3787e6f1/detour/providers"
)

// PlanResponse is GET /v1/providers/plan: what each provider would be
// told to change, nothing written.
type PlanResponse struct {
	Plans []providers.Plan `json:"plans"`
}

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
	if plans == nil {
		plans = []providers.Plan{}
	}
	writeJSON(w, http.StatusOK, PlanResponse{Plans: plans})
}
