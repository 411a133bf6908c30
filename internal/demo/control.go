package demo

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"
)

// control serves the demo's own controls, apart from the nodes so that
// it outlives any of them:
//
//	GET  /demo                          which datacenters are up
//	POST /demo/datacenters/{dc}/down    take a datacenter down (node and site)
//	POST /demo/datacenters/{dc}/up      bring it back
type control struct {
	addr string
	srv  *http.Server
}

func startControl(d *Demo, addr string) (*control, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /demo", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, http.StatusOK, map[string]any{"up": d.State()})
	})
	act := func(up bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			dc := r.PathValue("dc")
			var err error
			if up {
				err = d.Up(dc)
			} else {
				err = d.Down(dc)
			}
			switch {
			case errors.Is(err, ErrUnknownDC):
				reply(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			case err != nil:
				reply(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			default:
				reply(w, http.StatusOK, map[string]any{"up": d.State()})
			}
		}
	}
	mux.HandleFunc("POST /demo/datacenters/{dc}/down", act(false))
	mux.HandleFunc("POST /demo/datacenters/{dc}/up", act(true))
	// A web page open in the same browser must not take a datacenter
	// down: cross-origin writes are refused.
	c := &control{addr: ln.Addr().String(), srv: &http.Server{Handler: http.NewCrossOriginProtection().Handler(mux), ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second}}
	go func() { _ = c.srv.Serve(ln) }()
	return c, nil
}

func (c *control) close() { _ = c.srv.Close() }
