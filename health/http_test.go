package health

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

func TestHTTPCheck(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/errorpage", func(w http.ResponseWriter, r *http.Request) {
		// The web server answers 200 while the application behind it is dead.
		w.Write([]byte("Service Unavailable: application error, please retry later\n"))
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/healthz", http.StatusFound) })
	mux.HandleFunc("/vhost", func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "app.example.test" || r.Header.Get("X-Probe") != "yes" || r.Method != http.MethodHead {
			http.Error(w, "wrong request", http.StatusBadRequest)
		}
	})
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"version":"1.4.2","db":"up"}`)) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()

	with := func(f func(c *spec.Check)) spec.Check {
		c := httpCheckSpec("web")
		f(&c)
		return c
	}
	cases := []struct {
		name   string
		check  spec.Check
		probe  string
		up     bool
		reason string
		class  string
	}{
		{"healthy", with(func(c *spec.Check) { c.Path = "/healthz"; c.ExpectBody = "ok" }), addr, true, "HTTP 200 OK", ClassOK},
		{"status not expected", with(func(c *spec.Check) { c.Path = "/down" }), addr, false, "HTTP 503 Service Unavailable", ClassStatus},
		{"error page with 200", with(func(c *spec.Check) { c.Path = "/errorpage"; c.ExpectBody = "ok" }), addr, false,
			`body does not contain "ok"`, ClassContent},
		{"regex matches", with(func(c *spec.Check) { c.Path = "/version"; c.ExpectBodyRegex = `"db":"up"` }), addr, true, "HTTP 200 OK", ClassOK},
		{"regex fails", with(func(c *spec.Check) { c.Path = "/errorpage"; c.ExpectBodyRegex = `^OK$` }), addr, false,
			`body does not match /^OK$/`, ClassContent},
		{"redirect reported, not followed", with(func(c *spec.Check) { c.Path = "/moved"; c.ExpectStatus = spec.StatusCodes{{Lo: 200, Hi: 200}} }), addr, false, "HTTP 302 Found", ClassStatus},
		{"redirect followed when asked", with(func(c *spec.Check) {
			c.Path = "/moved"
			c.ExpectStatus = spec.StatusCodes{{Lo: 200, Hi: 200}}
			c.FollowRedirects = true
		}), addr, true, "HTTP 200 OK", ClassOK},
		{"host, method and headers", with(func(c *spec.Check) {
			c.Path, c.Method, c.Host = "/vhost", http.MethodHead, "app.example.test"
			c.Headers = map[string]string{"X-Probe": "yes"}
		}), addr, true, "HTTP 200 OK", ClassOK},
		{"connection refused", with(func(c *spec.Check) {}), refusedAddr(t), false, "connect: connection refused", ClassRefused},
		{"accepts and never answers", with(func(c *spec.Check) { c.Timeout = spec.Duration(150 * time.Millisecond) }), silentServer(t), false,
			"timeout after 150ms", ClassTimeout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := probeOnce(t, c.check, c.probe)
			if r.Up != c.up || r.Reason != c.reason || r.Class != c.class {
				t.Errorf("got up=%v reason=%q class=%s, want up=%v reason=%q class=%s", r.Up, r.Reason, r.Class, c.up, c.reason, c.class)
			}
		})
	}
}

// A dead listener must be seen on the next probe, so probes do not reuse
// connections.
func TestHTTPCheckNoKeepAlive(t *testing.T) {
	var mu sync.Mutex
	conns := 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := httpCheckSpec("web")
	k, _ := kinds()[spec.CheckHTTP](&c, testEnv())
	chk := k(Target{Probe: srv.Listener.Addr().String()})
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if r := chk.Check(ctx); !r.Up {
			t.Fatalf("probe failed: %s", r.Reason)
		}
		cancel()
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 3 {
		t.Errorf("3 probes opened %d connections, want 3 (one each)", conns)
	}
}
