package health

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// Probes leave from the engine's source address, whatever the type.
func TestProbesUseSourceIP(t *testing.T) {
	seen := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		seen <- host
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	for _, typ := range []string{spec.CheckHTTP, spec.CheckTCP} {
		c := spec.Check{Name: "c", Type: typ, Interval: spec.Duration(time.Second), Timeout: spec.Duration(time.Second),
			Method: "GET", Path: "/", ExpectStatus: spec.StatusCodes{{Lo: 200, Hi: 299}}, Rise: 1, Fall: 1}
		mk, err := kinds()[typ](&c, &env{now: time.Now, source: net.ParseIP("127.0.0.7"), guard: &guard{allow: loopback}})
		if err != nil {
			t.Fatal(err)
		}
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		go func() {
			if c, err := ln.Accept(); err == nil {
				host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
				seen <- host
				c.Close()
			}
		}()
		target := addr
		if typ == spec.CheckTCP {
			target = ln.Addr().String()
		}
		mk(Target{ID: TargetID{Pool: "p", Address: "x"}, Probe: target}).Check(context.Background())
		ln.Close()
		select {
		case got := <-seen:
			if got != "127.0.0.7" {
				t.Errorf("%s probe came from %s, want 127.0.0.7", typ, got)
			}
		case <-time.After(2 * time.Second):
			t.Errorf("%s probe never arrived", typ)
		}
	}
}
