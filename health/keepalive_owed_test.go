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
)

// A kept connection whose answer comes after the probe's timeout is kept,
// not closed: the probe fails, and the next one reads the late answer
// before it asks again, on the same connection. An observer short of CPU
// reads its answers late; closing the connection on each of its timeouts
// made it dial again, which cost more CPU and brought more timeouts.
func TestKeepAliveLateAnswerKeepsConnection(t *testing.T) {
	var conns, requests atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			time.Sleep(300 * time.Millisecond) // past the first probe's deadline
			w.Write([]byte("late"))
			return
		}
		w.Write([]byte("ok"))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := keepAliveChecker(t, srv.Listener.Addr().String(), true).(deadliner)

	// As the engine calls it: its context has no deadline.
	if r := c.CheckBy(context.Background(), time.Now().Add(100*time.Millisecond)); r.Up || r.Class != ClassTimeout {
		t.Fatalf("first probe, answered after its deadline: %+v, want a timeout", r)
	}
	for i := range 3 {
		if r := c.CheckBy(context.Background(), time.Now().Add(2*time.Second)); !r.Up {
			t.Fatalf("probe %d after the late answer: %+v, want up", i+2, r)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1: the late answer's connection is kept", n)
	}
	if n := requests.Load(); n != 4 {
		t.Errorf("the server saw %d requests, want 4", n)
	}
}

// A server that never answers costs one probe on the kept connection and
// one more waiting for the owed answer; then the connection is closed and
// the next probe dials again. Every probe fails meanwhile: a hung target
// goes down as fast as before.
func TestKeepAliveHungServerStillFails(t *testing.T) {
	var conns atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	defer close(release)
	c := keepAliveChecker(t, srv.Listener.Addr().String(), true).(deadliner)
	for i := range 3 {
		r := c.CheckBy(context.Background(), time.Now().Add(100*time.Millisecond))
		if r.Up || !strings.Contains(r.Reason, "timeout") && r.Class != ClassTimeout {
			t.Fatalf("probe %d of a hung server: %+v, want a timeout", i+1, r)
		}
	}
	// Probes 1 and 2 on the first connection, probe 3 on a new one.
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections after three probes of a hung server, want 2", n)
	}
}
