package api

import (
	"net/http"
	"strings"

	"github.com/seed3787e6f1/detour/internal/api/wire"
)

// readyFor is what a caller of /v1/ready may see of body: everything
// with a read token (or on a node without tokens); otherwise only the
// status and the first clause of why, short: no node, leader or
// address, which a load balancer does not need and an attacker would.
func (s *Server) readyFor(r *http.Request, body wire.Ready) wire.Ready {
	if tok, ok := s.optionalCaller(r); ok && tok.Scope.allows(ScopeRead) {
		return body
	}
	out := wire.Ready{Status: body.Status}
	if body.Why != "" {
		why, _, _ := strings.Cut(body.Why, ": ")
		out.Why = clip(why)
	}
	return out
}
