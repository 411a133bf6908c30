package api

import (
	"net/http"
	"strings"
)

// readyFor is what a caller of /v1/ready may see of body: everything
// with a read token (or on a node without tokens); otherwise only the
// status and the first clause of why, short: no node, leader or
// address, which a load balancer does not need and an attacker would.
func (s *Server) readyFor(r *http.Request, body map[string]any) map[string]any {
	if tok, ok := s.optionalCaller(r); ok && tok.Scope.allows(ScopeRead) {
		return body
	}
	out := map[string]any{"status": body["status"]}
	if why, ok := body["why"].(string); ok && why != "" {
		why, _, _ = strings.Cut(why, ": ")
		out["why"] = clip(why)
	}
	return out
}
