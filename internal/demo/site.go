package demo

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// site is a simulated datacenter's web site: /healthz answers "ok" while
// the site runs; taking it down closes its listener, so probes are
// refused as they would be by a dead datacenter.
type site struct {
	dc, addr string

	mu  sync.Mutex
	srv *http.Server
}

func (s *site) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	var ln net.Listener
	var err error
	// A just-closed port may linger briefly.
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("site %s: %w", s.dc, err)
	}
	s.addr = ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "Hello from the %s datacenter (a detour demo site)\n", s.dc)
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second}
	srv := s.srv
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the demo's site has nowhere better to report
		}
	}()
	return nil
}

// stop closes the site and every open connection at once.
func (s *site) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		_ = s.srv.Close()
		s.srv = nil
	}
}
