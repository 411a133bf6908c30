// Package statuspage serves the public status page every node runs on
// its own listener: plain HTML readable without JavaScript, /status.json
// and an Atom feed of incidents and failovers. It reads only the node's
// local replicated state, so it keeps answering when the leader, the
// API or any one datacenter is gone.
package statuspage

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed3787e6f1/detour/controller"
)

// DefaultHistory is how many history entries the page lists.
const DefaultHistory = 20

// Reader is the local state the page is made from: the node's FSM.
type Reader interface {
	// View is the latest read view of the state; it never blocks.
	View() *controller.View
	// Changed returns a channel closed at the next change of the state:
	// the page is rendered again then, not per request.
	Changed() <-chan struct{}
}

// Options configure a Server.
type Options struct {
	State Reader
	// Node is what the footer calls the node serving the page; empty
	// names none. A node passes its status_node_label, never its ID by
	// default: node IDs are not public.
	Node string
	// PublicURL is the page's public address (https://status.example.com/),
	// the base of the Atom feed's links; empty makes them relative. The
	// Host header of a request is never used.
	PublicURL string
	// Limits bound the page; zero fields take DefaultLimits.
	Limits Limits
	Logger *slog.Logger
	// Now is the page's clock; nil means time.Now.
	Now func() time.Time
	// CutOff reports whether this node is cut off from its cluster's
	// leader: the page then says its information may be out of date.
	CutOff func() bool
}

// Server is a node's status page.
type Server struct {
	opts Options
	mux  *http.ServeMux
	srv  *http.Server
	ln   net.Listener
	wg   sync.WaitGroup

	// cache holds the page as last rendered; renderMu lets one request
	// render it again after a change while the others wait for it.
	cache    atomic.Pointer[rendered]
	renderMu sync.Mutex
	renders  atomic.Uint64
}

// New returns a status page server; Start makes it listen.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Limits = opts.Limits.withDefaults()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /{$}", s.html)
	s.mux.HandleFunc("GET /status.json", s.json)
	s.mux.HandleFunc("GET /feed.atom", s.atom)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not found: the status page is at /, /status.json and /feed.atom", http.StatusNotFound)
	})
	s.srv = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

// Handler serves the page, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.mux }

// Start listens on addr and serves in the background.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.ln = ln
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.opts.Logger.Error("status page", "err", err)
		}
	}()
	s.opts.Logger.Info("status page listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the bound address, empty before Start.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops the listener and waits for requests in flight or ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	s.wg.Wait()
	return err
}

// Page builds the page from the local state now.
func (s *Server) Page() Page {
	p := build(s.opts.State.View(), s.opts.Limits)
	p.Node, p.Generated = s.opts.Node, s.opts.Now().UTC()
	p.CutOff = s.cutOff()
	return p
}

// cutOff reports whether this node is cut off from its leader.
func (s *Server) cutOff() bool { return s.opts.CutOff != nil && s.opts.CutOff() }

func (s *Server) json(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	s.serve(w, r, formJSON)
}
