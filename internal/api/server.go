// Package api serves a node's HTTP API: status, members, events,
// overrides, the spec, drills, heartbeats, liveness, readiness and
// metrics. Reads are served from the node's own replicated state and say
// how fresh it is; writes go through Raft to the leader. See docs/api.md.
package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/health"
	"github.com/seed3787e6f1/detour/internal/api/wire"
	"github.com/seed3787e6f1/detour/providers"
	"github.com/seed3787e6f1/detour/spec"
)

// Errors from starting the server.
var (
	// ErrNoTokens means the API would listen beyond loopback with no
	// tokens: anyone who reaches it could drain a datacenter.
	ErrNoTokens = errors.New("the API is not on loopback and has no tokens")
)

// WriteTimeout bounds how long a write waits for the leader: long enough
// to ride out an election, short enough that an operator is told.
const WriteTimeout = 10 * time.Second

// Options wire the server to its node.
type Options struct {
	// Store is the node's Raft store: reads and writes.
	Store *controller.Store
	// Beater records heartbeats (controller.Beats: through the store,
	// which shares them with every node's engine); nil refuses them.
	Beater health.Beater
	// DNSStats returns the DNS server's reply counters; nil omits them
	// from /metrics.
	DNSStats func() dnsserver.Totals
	// DNSTransfers returns the zone-transfer counters; nil omits them.
	DNSTransfers func() dnsserver.TransferTotals
	// Registry is where /metrics gathers from; the API adds its own
	// collectors. nil makes a fresh registry.
	Registry *prometheus.Registry
	// Tokens are the accepted bearer tokens. None is allowed on loopback
	// only (dev and demo).
	Tokens *Tokens
	// TLS, when set, serves HTTPS.
	TLS    *tls.Config
	Logger *slog.Logger
	// Extra routes (the demo's), registered as given: pattern -> handler.
	Extra map[string]http.Handler
	// Planner answers `detour plan`: what each provider would be told;
	// nil refuses plans.
	Planner Planner

	// Browser and credential guards (docs/security.md).

	// Names are the host names this node's API is reached by, beside
	// its listen address and loopback: a node without tokens refuses a
	// request whose Host header is none of them (DNS rebinding).
	Names []string
	// AuthFailures unknown tokens from one source within AuthWindow
	// get it 429 until the window ends; zero values take
	// DefaultAuthFailures and DefaultAuthWindow.
	AuthFailures int
	AuthWindow   time.Duration

	// Env is which environment variables this node lets a spec name for
	// each use (spec.EnvPolicy; zero: the defaults): an applied spec
	// naming one it refuses is refused whole.
	Env spec.EnvPolicy
	// SpecWait is how long a request sending a spec (diff, drill,
	// apply) waits for another spec's parse before it is answered 429;
	// zero takes DefaultSpecWait.
	SpecWait time.Duration

	// Minority says whether this node is cut off from the leader
	// (not ready, status warns); nil never is.
	Minority *controller.Minority

	// GeoIP is the node's geoip database (geo): GET /v1/geoip and
	// /v1/explain read it; nil places nobody.
	GeoIP GeoLocator
	// Big specs (scale). MaxSpecUpload bounds a gzip-compressed spec
	// request (apply, diff, drill) from an admin token, compressed and
	// decompressed alike: 0 takes DefaultMaxSpecUpload, a negative value
	// refuses compressed bodies; never more than DefaultMaxSpecUpload.
	MaxSpecUpload int64
	// DNSSEC reports on a signed zone (dnssec.go); nil answers 404.
	DNSSEC func(zone string) (dnsserver.DNSSECStatus, error)
}

// Planner reads the providers and says what a sync would change.
type Planner interface {
	Plan(ctx context.Context, name string) ([]providers.Plan, error)
}

// Server is the node's HTTP API.
type Server struct {
	store    *controller.Store
	geo      GeoLocator
	beater   health.Beater
	planner  Planner
	tokens   *Tokens
	tlsCfg   *tls.Config
	logger   *slog.Logger
	registry *prometheus.Registry
	metrics  *metrics
	names    []string

	limiter     *authLimiter
	authMetrics *authMetrics
	specSlot    *specSlot

	ready  atomic.Bool
	mux    *http.ServeMux
	routes []string
	srv    *http.Server
	ln     net.Listener

	cancel context.CancelFunc
	wg     sync.WaitGroup
	stop   chan struct{} // closed at Shutdown: ends streams and long polls

	env spec.EnvPolicy // what an applied spec may name (spec_env.go)

	minority *controller.Minority // cut off from the leader (members)

	maxUpload int64                                             // a compressed spec request's bound (upload.go)
	dnssec    func(zone string) (dnsserver.DNSSECStatus, error) // dnssec.go
}

// New returns an API server; Start makes it listen.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("api: a store is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if err := opts.Tokens.Weak(); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	s := &Server{store: opts.Store, beater: opts.Beater, planner: opts.Planner, tokens: opts.Tokens, tlsCfg: opts.TLS,
		logger: opts.Logger, registry: opts.Registry, mux: http.NewServeMux(), stop: make(chan struct{}), names: opts.Names}
	s.limiter = newAuthLimiter(opts.AuthFailures, opts.AuthWindow)
	s.env = opts.Env
	s.minority = opts.Minority
	s.geo = opts.GeoIP
	s.maxUpload = maxSpecUpload(opts.MaxSpecUpload)
	s.dnssec = opts.DNSSEC
	var err error
	if s.authMetrics, err = newAuthMetrics(opts.Registry); err != nil {
		return nil, err
	}
	if s.specSlot, err = newSpecSlot(opts.SpecWait, opts.Registry); err != nil {
		return nil, err
	}
	if s.metrics, err = newMetrics(s, opts.Registry, opts.DNSStats, opts.DNSTransfers); err != nil {
		return nil, err
	}
	s.register()
	for pattern, h := range opts.Extra {
		s.handle(pattern, h)
	}
	s.srv = &http.Server{
		Handler:           s.guard(s.mux),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Writes wait up to WriteTimeout for the leader; event streams
		// lift the deadline for themselves.
		WriteTimeout:   WriteTimeout + 20*time.Second,
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	s.srv.RegisterOnShutdown(func() { close(s.stop) })
	return s, nil
}

func (s *Server) done() <-chan struct{} { return s.stop }

func (s *Server) handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, h)
	s.routes = append(s.routes, pattern)
}

// register lists every route and the scope it needs.
func (s *Server) register() {
	s.handle("GET /v1/health", http.HandlerFunc(s.health))
	s.handle("GET /v1/ready", http.HandlerFunc(s.readiness))
	s.handle("GET /metrics", s.auth(ScopeRead, s.metrics.serve))
	s.handle("GET /v1/status", s.auth(ScopeRead, s.status))
	s.handle("GET /v1/records", s.auth(ScopeRead, s.records))
	s.handle("GET /v1/members", s.auth(ScopeRead, s.members))
	s.handle("POST /v1/members", s.auth(ScopeAdmin, s.addMember))
	s.handle("DELETE /v1/members/{id}", s.auth(ScopeAdmin, s.removeMember))
	s.handle("POST /v1/members/stepdown", s.auth(ScopeAdmin, s.stepDown))
	s.handle("GET /v1/events", s.auth(ScopeRead, s.events))
	s.handle("GET /v1/overrides", s.auth(ScopeRead, s.overrides))
	s.handle("POST /v1/overrides/drain", s.auth(ScopeOperate, s.drain))
	s.handle("POST /v1/overrides/undrain", s.auth(ScopeOperate, s.undrain))
	s.handle("POST /v1/overrides/pin", s.auth(ScopeOperate, s.pin))
	s.handle("POST /v1/overrides/release", s.auth(ScopeOperate, s.release))
	s.handle("GET /v1/incidents", s.auth(ScopeRead, s.incidents))
	s.handle("POST /v1/incidents", s.auth(ScopeOperate, s.openIncident))
	s.handle("POST /v1/incidents/{id}", s.auth(ScopeOperate, s.changeIncident))
	s.handle("GET /v1/spec", s.auth(ScopeRead, s.getSpec))
	s.handle("PUT /v1/spec", s.auth(ScopeAdmin, s.applySpec))
	s.handle("POST /v1/spec/diff", s.auth(ScopeRead, s.diffSpec))
	s.handle("POST /v1/drill", s.auth(ScopeRead, s.drill))
	s.handle("GET /v1/providers/plan", s.auth(ScopeRead, s.plan))
	s.handle(health.HeartbeatPattern, s.auth(ScopeHeartbeat, s.heartbeat))
	s.handle("GET /v1/geoip", s.auth(ScopeRead, s.geoIPStatus))
	s.handle("GET /v1/explain", s.auth(ScopeRead, s.explain))
	s.handle("GET /v1/dnssec/{zone}", s.auth(ScopeRead, s.dnssecStatus))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no route %s %s: see docs/api.md for the routes", r.Method, r.URL.Path)
	})
}

// Routes lists the registered route patterns (net/http.ServeMux syntax).
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

// Handler is the API's handler, browser guard included, for tests and
// embedding.
func (s *Server) Handler() http.Handler { return s.srv.Handler }

// SetReady marks the node ready (or not) for /v1/ready.
func (s *Server) SetReady(ok bool) { s.ready.Store(ok) }

// Start listens on addr and serves in the background. Without tokens it
// refuses any address but loopback.
func (s *Server) Start(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("api: %q: want host:port", addr)
	}
	if s.tokens.Len() == 0 && !IsLoopback(host) {
		return fmt.Errorf("%w: %s would let anyone who reaches it drain a datacenter; give --api-tokens FILE or DETOUR_API_TOKENS, or listen on 127.0.0.1", ErrNoTokens, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if s.tlsCfg != nil {
		ln = tls.NewListener(ln, s.tlsCfg)
	}
	s.ln = ln
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.metrics.watch(ctx)
	}()
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("api server", "err", err)
		}
	}()
	s.logger.Info("api listening", "addr", ln.Addr().String(), "tls", s.tlsCfg != nil, "tokens", s.tokens.Len())
	return nil
}

// Addr returns the bound address.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops accepting, ends event streams and waits for in-flight
// requests or ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.cancel != nil {
		s.cancel()
	}
	err := s.srv.Shutdown(ctx)
	s.wg.Wait()
	return err
}

// IsLoopback reports whether host is localhost or a loopback address:
// where plaintext and token-less access are allowed.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, wire.Health{Status: "ok"})
}

func (s *Server) readiness(w http.ResponseWriter, r *http.Request) {
	fresh := s.freshness()
	if why := s.notReady(); why != "" {
		writeJSON(w, http.StatusServiceUnavailable, s.readyFor(r, wire.Ready{Status: "not ready", Why: why, Freshness: &fresh}))
		return
	}
	writeJSON(w, http.StatusOK, s.readyFor(r, wire.Ready{Status: "ready", Freshness: &fresh}))
}

func (s *Server) records(w http.ResponseWriter, _ *http.Request) {
	ds, index := s.store.FSM().DecisionsAt()
	writeJSON(w, http.StatusOK, wire.RecordsResponse{Records: convertSlice(ds, wireDecision), Index: index, Freshness: s.freshness()})
}

// retryAfter is what a write refused for this node's own trouble (a
// halted state machine, a log it cannot write) tells the client to wait
// before retrying, here or on another node.
const retryAfter = "5"

func (s *Server) writeStoreError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, controller.ErrStorage), errors.Is(err, controller.ErrHalted):
		w.Header().Set("Retry-After", retryAfter)
		writeError(w, http.StatusServiceUnavailable, "the change was not made, retry it (on another node if this one is not ready, see /v1/ready): %v", err)
	case errors.Is(err, controller.ErrUnknownTarget), errors.Is(err, controller.ErrUnknownRecord),
		errors.Is(err, controller.ErrUnknownIncident), errors.Is(err, controller.ErrNotFound):
		writeError(w, http.StatusNotFound, "%v", err)
	case errors.Is(err, controller.ErrBadCommand), errors.Is(err, spec.ErrInvalid), errors.Is(err, errIdempotencyKey):
		writeError(w, http.StatusBadRequest, "%v", err)
	case errors.Is(err, controller.ErrIncidentLimit), errors.Is(err, controller.ErrIncidentResolved):
		writeError(w, http.StatusConflict, "%v", err)
	case errors.Is(err, controller.ErrRejected):
		// Refused for the state it met (no spec yet, a conflict).
		writeError(w, http.StatusConflict, "%v", err)
	case errors.Is(err, controller.ErrNoLeader):
		writeError(w, http.StatusServiceUnavailable, "no leader could be reached within %s, so the change was not made (it may still be applied if the leader got it just before losing contact: run `detour events`); is a majority of nodes up? run `detour members` against each node: %v", WriteTimeout, err)
	default:
		writeError(w, http.StatusInternalServerError, "%v", err)
	}
}
