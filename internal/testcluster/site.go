package testcluster

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
)

// Site is a simulated datacenter's web site: a real HTTP server answering
// /healthz with "ok" while up.
type Site struct {
	srv  *httptest.Server
	Addr string

	up      atomic.Bool
	flap    atomic.Bool
	mu      sync.Mutex
	blocked map[string]bool   // probe source IPs that see it down
	probes  map[string]uint64 // per source IP, for flapping
}

func newSite() *Site {
	s := &Site{blocked: map[string]bool{}, probes: map[string]uint64{}}
	s.up.Store(true)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.Addr = s.srv.Listener.Addr().String()
	return s
}

func (s *Site) serve(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	s.mu.Lock()
	blocked := s.blocked[host]
	s.probes[host]++
	n := s.probes[host]
	s.mu.Unlock()
	healthy := s.up.Load() && !blocked
	if s.flap.Load() {
		// Every observer sees it alternate, probe after probe.
		healthy = n%2 == 0
	}
	if !healthy {
		http.Error(w, "Service Unavailable: application error", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ok\n"))
}

// SetUp makes the site answer healthy (true) or 503 (false).
func (s *Site) SetUp(up bool) { s.up.Store(up) }

// Flap makes the site alternate between healthy and not on every probe of
// each observer.
func (s *Site) Flap(on bool) { s.flap.Store(on) }

// BlockFrom makes the site fail for probes from ip only: that observer's
// own network path is broken.
func (s *Site) BlockFrom(ip string, blocked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked[ip] = blocked
}

// Kill closes the site: connections are refused.
func (s *Site) Kill() { s.srv.Close() }
