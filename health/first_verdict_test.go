package health

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// A restarted node or site whose first probe fails does not report the
// target down: the first verdict waits for fall failures in a row, and a
// success in between starts over.
func TestEngineFirstVerdictRespectsFall(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 { // the site is still starting
			http.Error(w, "starting", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	c := httpCheckSpec("web")
	c.Rise, c.Fall = 2, 3
	e, rec := startEngine(t, specWith(c, srv.Listener.Addr().String()), Options{})
	first := rec.next(t)
	if first.From != Unknown || first.To != Up {
		t.Fatalf("first transition %+v (after %d probes), want unknown -> up: one failed probe is not a verdict", first, n.Load())
	}
	if got := n.Load(); got < 3 {
		t.Fatalf("up after %d probes, want the failure then rise=2 successes", got)
	}
	<-e.FirstRoundDone()
	if ts := rec.all(); len(ts) != 1 {
		t.Fatalf("transitions %+v, want only unknown -> up", ts)
	}
}

// A target that is down from the start becomes down after fall
// failures, not on the first one, and the first round of checks waits
// for that verdict.
func TestEngineFirstDownNeedsFall(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	c := httpCheckSpec("web")
	c.Rise, c.Fall = 2, 3
	e, rec := startEngine(t, specWith(c, srv.Listener.Addr().String()), Options{})
	select {
	case <-e.FirstRoundDone():
		t.Fatalf("first round done after %d probes, before any verdict", n.Load())
	default:
	}
	down := rec.next(t)
	if down.From != Unknown || down.To != Down {
		t.Fatalf("first transition %+v, want unknown -> down", down)
	}
	if got := n.Load(); got < 3 {
		t.Fatalf("down after %d probes, want fall=3", got)
	}
	<-e.FirstRoundDone()
}
