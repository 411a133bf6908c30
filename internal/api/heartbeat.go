package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/seed3787e6f1/detour/health"
)

// heartbeat records a push heartbeat from a job (POST
// /v1/heartbeat/{check}/{endpoint}): 204 when recorded (or coalesced with
// a beat committed a moment ago), 403 when the token is not bound to the
// check or endpoint.
func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	if s.beater == nil {
		writeError(w, http.StatusServiceUnavailable, "this node runs no health checks, so it records no heartbeats")
		return
	}
	check, endpoint := r.PathValue("check"), r.PathValue("endpoint")
	// Before the spec is looked at: a token learns nothing about checks
	// it may not beat.
	if tok := caller(r.Context()); !tok.MayBeat(check, endpoint) {
		writeError(w, http.StatusForbidden, "token %q may beat %s, not %q at %q", tok.Name, tok.bound(), check, endpoint)
		return
	}
	sp, _ := s.store.FSM().Spec()
	_, _, err := sp.HeartbeatTarget(check, endpoint)
	if err == nil || sp == nil {
		// Without a spec here yet the beater decides (it may have one).
		err = s.beater.Heartbeat(check, endpoint, time.Now())
	}
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, health.ErrUnknownCheck), errors.Is(err, health.ErrUnknownEndpoint):
		writeError(w, http.StatusNotFound, "%v", err)
	case errors.Is(err, health.ErrNotHeartbeat):
		writeError(w, http.StatusBadRequest, "%v", err)
	default:
		// A beat committed through the cluster fails like any write.
		s.writeStoreError(w, err)
	}
}
