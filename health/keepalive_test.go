package health

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

func keepAliveChecker(t *testing.T, addr string, keep bool) Checker {
	t.Helper()
	c := spec.Check{Name: "c", Type: spec.CheckHTTP, Interval: spec.Duration(time.Second), Timeout: spec.Duration(time.Second),
		Method: "GET", Path: "/", ExpectStatus: spec.StatusCodes{{Lo: 200, Hi: 299}}, ExpectBody: "ok", KeepAlive: keep, Rise: 1, Fall: 1}
	mk, err := kinds()[spec.CheckHTTP](&c, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	return mk(Target{ID: TargetID{Pool: "p", Address: "x"}, Probe: addr})
}

func probe(t *testing.T, c Checker) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return c.Check(ctx)
}

// keep_alive reuses one connection; a server that drops idle connections
// costs one fresh connection, not a failed probe; a dead server is seen
// on the next probe.
func TestKeepAlive(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok " + strings.Repeat("x", 100)))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	addr := srv.Listener.Addr().String()

	c := keepAliveChecker(t, addr, true)
	for i := 0; i < 5; i++ {
		if r := probe(t, c); !r.Up {
			t.Fatalf("probe %d: %+v", i, r)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("5 probes with keep_alive opened %d connections, want 1", n)
	}
	srv.CloseClientConnections()
	time.Sleep(50 * time.Millisecond)
	if r := probe(t, c); !r.Up {
		t.Errorf("after the server dropped the idle connection: %+v", r)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections after the drop, want 2", n)
	}
	srv.Close()
	if r := probe(t, c); r.Up || !strings.Contains(r.Reason, "refused") {
		t.Errorf("with the server gone: %+v, want down with connection refused", r)
	}

	// Without keep_alive: a connection per probe.
	var fresh atomic.Int32
	srv2 := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	srv2.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			fresh.Add(1)
		}
	}
	srv2.Start()
	defer srv2.Close()
	c2 := keepAliveChecker(t, srv2.Listener.Addr().String(), false)
	for i := 0; i < 3; i++ {
		if r := probe(t, c2); !r.Up {
			t.Fatalf("probe %d: %+v", i, r)
		}
	}
	if n := fresh.Load(); n != 3 {
		t.Errorf("3 probes without keep_alive opened %d connections, want 3", n)
	}
}
