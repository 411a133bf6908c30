package api

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Failed authentication: logged without the secret, counted in
// /metrics, and a source that keeps failing is answered 429 until its
// window ends, whatever token it sends then.
const (
	// DefaultAuthFailures is how many unknown tokens one source may send
	// within DefaultAuthWindow.
	DefaultAuthFailures = 10
	// DefaultAuthWindow is the window failures are counted in, from a
	// source's first failure.
	DefaultAuthWindow = time.Minute
	// maxAuthSources bounds the sources remembered (about 100 bytes
	// each); past it the oldest window is forgotten first.
	maxAuthSources = 10000
)

// Reasons a request failed authentication, as /metrics labels them.
const (
	authMissing = "missing_token"
	authUnknown = "unknown_token"
	authScope   = "insufficient_scope"
	authLimited = "rate_limited"
)

// failureWindow is one source's failures since start.
type failureWindow struct {
	start time.Time
	n     int
}

// authLimiter counts unknown tokens per source address.
type authLimiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	sources map[string]*failureWindow
}

func newAuthLimiter(max int, window time.Duration) *authLimiter {
	if max <= 0 {
		max = DefaultAuthFailures
	}
	if window <= 0 {
		window = DefaultAuthWindow
	}
	return &authLimiter{max: max, window: window, now: time.Now, sources: map[string]*failureWindow{}}
}

// blocked reports how long source must wait, when it is over its limit.
func (l *authLimiter) blocked(source string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.sources[source]
	if f == nil {
		return 0, false
	}
	left := f.start.Add(l.window).Sub(l.now())
	if left <= 0 {
		delete(l.sources, source)
		return 0, false
	}
	return left, f.n >= l.max
}

// fail counts a failure of source and reports whether it reached the
// limit with this one.
func (l *authLimiter) fail(source string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	f := l.sources[source]
	if f == nil || now.Sub(f.start) >= l.window {
		if f == nil && len(l.sources) >= maxAuthSources {
			l.evict(now)
		}
		f = &failureWindow{start: now}
		l.sources[source] = f
	}
	f.n++
	return f.n == l.max
}

// evict forgets ended windows, and the oldest one if none has ended.
func (l *authLimiter) evict(now time.Time) {
	var oldest string
	for src, f := range l.sources {
		if now.Sub(f.start) >= l.window {
			delete(l.sources, src)
			continue
		}
		if oldest == "" || f.start.Before(l.sources[oldest].start) {
			oldest = src
		}
	}
	if len(l.sources) >= maxAuthSources && oldest != "" {
		delete(l.sources, oldest)
	}
}

// sourceOf is the address failures are counted by: the client's IP,
// or its /64 for IPv6, where one host holds a whole prefix. A proxy in
// front of the API makes every client one source.
func sourceOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() != nil {
		return host
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// authMetrics count failed authentication by reason.
type authMetrics struct {
	failures *prometheus.CounterVec
}

func newAuthMetrics(reg prometheus.Registerer) (*authMetrics, error) {
	m := &authMetrics{failures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "detour", Name: "api_auth_failures_total",
		Help: "API requests refused for their credentials, by reason: missing_token, unknown_token, insufficient_scope, rate_limited (a source over its failure limit)."},
		[]string{"reason"})}
	for _, r := range []string{authMissing, authUnknown, authScope, authLimited} {
		m.failures.WithLabelValues(r)
	}
	if err := reg.Register(m.failures); err != nil {
		return nil, fmt.Errorf("api: registering auth metrics: %w", err)
	}
	return m, nil
}

// authenticate finds the caller's token, or answers 401 or 429 and
// returns false. Unknown tokens count against the source's limit; a
// source over it is refused before its token is even looked at, so
// that a guess cannot be confirmed.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, need Scope) (Token, bool) {
	src := sourceOf(r)
	if wait, limited := s.limiter.blocked(src); limited {
		s.refuseLimited(w, wait)
		return Token{}, false
	}
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || secret == "" {
		s.authMetrics.failures.WithLabelValues(authMissing).Inc()
		w.Header().Set("WWW-Authenticate", `Bearer realm="detour"`)
		writeError(w, http.StatusUnauthorized, "a bearer token is required: pass --token or set DETOUR_TOKEN (this needs the %s scope)", need)
		return Token{}, false
	}
	tok, ok := s.tokens.lookup(secret)
	if !ok {
		s.unknownToken(r, src)
		w.Header().Set("WWW-Authenticate", `Bearer realm="detour", error="invalid_token"`)
		// The node is not named: its ID is for token holders.
		writeError(w, http.StatusUnauthorized, "the token is not known to this node: check --token or DETOUR_TOKEN, and the node's tokens file")
		return Token{}, false
	}
	return tok, true
}

// unknownToken logs and counts a wrong token from src. Once src reaches
// its limit it is logged once more, then not until its window ends.
func (s *Server) unknownToken(r *http.Request, src string) {
	s.authMetrics.failures.WithLabelValues(authUnknown).Inc()
	if s.limiter.fail(src) {
		s.logger.Warn("API authentication: source over its failure limit, refused until its window ends",
			"source", src, "failures", s.limiter.max, "window", s.limiter.window)
		return
	}
	s.logger.Warn("API authentication failed: unknown token", "source", src, "method", r.Method, "path", clip(r.URL.Path))
}

// refuseLimited answers a source over its limit.
func (s *Server) refuseLimited(w http.ResponseWriter, wait time.Duration) {
	s.authMetrics.failures.WithLabelValues(authLimited).Inc()
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, "too many failed authentications from this address: try again in %d s", secs)
}

// forbidden answers a known token without the scope a route needs.
func (s *Server) forbidden(w http.ResponseWriter, r *http.Request, tok Token, need Scope) {
	s.authMetrics.failures.WithLabelValues(authScope).Inc()
	s.logger.Info("API authorization refused", "token", tok.Name, "scope", tok.Scope.String(), "needs", need.String(), "source", sourceOf(r), "path", clip(r.URL.Path))
	writeError(w, http.StatusForbidden, "token %q has scope %s; this needs %s", tok.Name, tok.Scope, need)
}

// optionalCaller is the caller of an unauthenticated route that shows
// more to a token holder (/v1/ready): the token when it is known,
// none otherwise. A wrong token counts as a failure like anywhere
// else, and a source over its limit is not looked up.
func (s *Server) optionalCaller(r *http.Request) (Token, bool) {
	if s.tokens.Len() == 0 {
		return Token{Name: "local", Scope: ScopeAdmin}, true
	}
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || secret == "" {
		return Token{}, false
	}
	src := sourceOf(r)
	if _, limited := s.limiter.blocked(src); limited {
		s.authMetrics.failures.WithLabelValues(authLimited).Inc()
		return Token{}, false
	}
	tok, ok := s.tokens.lookup(secret)
	if !ok {
		s.unknownToken(r, src)
	}
	return tok, ok
}
