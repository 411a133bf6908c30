package health

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/seed3787e6f1/detour/spec"
)

// Heartbeat records a beat for the endpoint address of a heartbeat check
// at the given time, and re-evaluates its targets at once. The address is
// matched as the spec normalises it (IP addresses in canonical form, host
// names with or without the final dot, any case). It fails with
// ErrUnknownCheck, ErrNotHeartbeat or ErrUnknownEndpoint.
//
// A beat reaches only the node that received it: the controller is
// expected to share beats between nodes (for example through Raft) and
// call Heartbeat on each, so that every observer sees the job alive.
func (e *Engine) Heartbeat(check, endpoint string, at time.Time) error {
	addr := normalEndpoint(endpoint)
	e.mu.Lock()
	c, ok := e.checks[check]
	var targets []*target
	if ok && c.Type == spec.CheckHeartbeat {
		targets = e.beatRoutes[beatKey{check, addr}]
	}
	var names []string
	if !ok {
		for n, c := range e.checks {
			if c.Type == spec.CheckHeartbeat {
				names = append(names, n)
			}
		}
	}
	e.mu.Unlock()
	switch {
	case !ok:
		sort.Strings(names)
		return fmt.Errorf("%w: %q (heartbeat checks: %s)", ErrUnknownCheck, check, orNone(names))
	case c.Type != spec.CheckHeartbeat:
		return fmt.Errorf("%w: check %q is of type %s", ErrNotHeartbeat, check, c.Type)
	case len(targets) == 0:
		return fmt.Errorf("%w: no pool checked by %q has endpoint %q", ErrUnknownEndpoint, check, endpoint)
	}
	e.env.beats.record(check, addr, at)
	for _, t := range targets {
		e.sched.poke(t)
	}
	return nil
}

// normalEndpoint writes an endpoint address as spec.Validate does.
func normalEndpoint(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String()
	}
	return dns.CanonicalName(s)
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// HeartbeatPattern is the route HeartbeatHandler serves, in
// net/http.ServeMux syntax; {endpoint} is the endpoint address,
// URL-escaped.
const HeartbeatPattern = "POST /v1/heartbeat/{check}/{endpoint}"

// Beater records heartbeats. *Engine is one; the controller may wrap it to
// share beats between nodes.
type Beater interface {
	Heartbeat(check, endpoint string, at time.Time) error
}

// HeartbeatHandler returns the handler of POST
// /v1/heartbeat/{check}/{endpoint}: 204 when the beat was recorded, 401
// without the bearer token (an empty token refuses every beat), 404 for an
// unknown check or endpoint, 400 for a check that is not a heartbeat, 405
// for another method. Mount it at "/v1/heartbeat/".
func HeartbeatHandler(b Beater, token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(HeartbeatPattern, func(w http.ResponseWriter, r *http.Request) {
		if !bearerOK(r, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="detour"`)
			http.Error(w, "a valid bearer token is required", http.StatusUnauthorized)
			return
		}
		err := b.Heartbeat(r.PathValue("check"), r.PathValue("endpoint"), time.Now())
		switch {
		case err == nil:
			w.WriteHeader(http.StatusNoContent)
		case errors.Is(err, ErrUnknownCheck), errors.Is(err, ErrUnknownEndpoint):
			http.Error(w, err.Error(), http.StatusNotFound)
		case errors.Is(err, ErrNotHeartbeat):
			http.Error(w, err.Error(), http.StatusBadRequest)
		default:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	return mux
}

func bearerOK(r *http.Request, token string) bool {
	got, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return found && token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}
