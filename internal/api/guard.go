package api

import (
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/seed3787e6f1/detour/health"
)

// The browser guard: a web page a user has open must not reach the API.
// Three checks run before any route, in this order:
//
//  1. On a node without tokens, the Host header must be one of the
//     node's own names (DNS rebinding: evil.example re-resolved to
//     127.0.0.1 is same-origin for the browser, but its Host says
//     evil.example). 421 otherwise.
//  2. Writes from another origin are refused (http.CrossOriginProtection:
//     Sec-Fetch-Site, else Origin against Host). 403.
//  3. Writes must say Content-Type: application/json, which a page can
//     only send after a CORS preflight the API never grants. 415.

// isHeartbeat reports whether path is a heartbeat's, the one write
// exempt from the JSON rule: jobs beat with a bare `curl -X POST` and
// send no body. The prefix is read from the route's pattern.
func isHeartbeat(path string) bool {
	_, pattern, _ := strings.Cut(health.HeartbeatPattern, " ")
	prefix, _, _ := strings.Cut(pattern, "{")
	return strings.HasPrefix(path, prefix)
}

// guard wraps the API's routes with the browser checks.
func (s *Server) guard(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.tokens.Len() == 0 && !s.ownHost(r.Host) {
			s.logger.Warn("refused a request for another host (DNS rebinding?)", "host", clip(r.Host), "source", r.RemoteAddr, "path", clip(r.URL.Path))
			writeError(w, http.StatusMisdirectedRequest, "this node answers as %s, not %q: a node without tokens only serves requests for its own names (add the name to api_names if it is one)",
				strings.Join(s.hostNames(), ", "), clip(r.Host))
			return
		}
		if err := cop.Check(r); err != nil {
			s.logger.Warn("refused a cross-origin write", "origin", clip(r.Header.Get("Origin")), "source", r.RemoteAddr, "path", clip(r.URL.Path))
			writeError(w, http.StatusForbidden, "a write from a web page of another origin is refused (%v): use the detour CLI or a client that is not a browser", err)
			return
		}
		if isWrite(r.Method) && !isHeartbeat(r.URL.Path) && !isJSON(r.Header.Get("Content-Type")) {
			writeError(w, http.StatusUnsupportedMediaType, "a %s needs Content-Type: application/json, got %q", r.Method, clip(r.Header.Get("Content-Type")))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func isWrite(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// ownHost reports whether a Host header names this node: its listen
// address, loopback, or a name the operator configured.
func (s *Server) ownHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	for _, n := range s.hostNames() {
		if host == n {
			return true
		}
	}
	return false
}

// hostNames are the names this node answers to without tokens.
func (s *Server) hostNames() []string {
	names := []string{"localhost", "127.0.0.1", "::1"}
	own := s.names
	if s.ln != nil {
		if h, _, err := net.SplitHostPort(s.ln.Addr().String()); err == nil {
			own = append([]string{h}, own...)
		}
	}
	for _, n := range own {
		if h, _, err := net.SplitHostPort(n); err == nil {
			n = h
		}
		n = strings.TrimSuffix(strings.ToLower(strings.Trim(n, "[]")), ".")
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// clip bounds a client-supplied string before it is logged or echoed.
func clip(s string) string {
	const max = 100
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
