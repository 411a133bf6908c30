package health

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// TestEngineRiseFallOnFakeClock is the rise/fall of a real HTTP check
// with the engine's scheduler on a synctest bubble's fake clock: the
// probed server runs outside the bubble, on loopback, and every wait
// between probes costs no wall time, so the interval can be a realistic
// 10s and the test still takes milliseconds. With fall 3 and rise 2 at a
// 10s interval, down comes 20-30s after the site fails and up 10-20s
// after it returns, to the tick.
func TestEngineRiseFallOnFakeClock(t *testing.T) {
	srv := newSwitchServer(t, true)
	synctest.Test(t, func(t *testing.T) {
		c := httpCheckSpec("web")
		c.Interval, c.Timeout = spec.Duration(10*time.Second), spec.Duration(2*time.Second)
		c.Rise, c.Fall = 2, 3
		e, rec := startEngine(t, specWith(c, srv.addr), Options{})
		if first := nextWithin(t, rec, time.Minute); first.To != Up {
			t.Fatalf("first transition %+v, want up", first)
		}
		<-e.FirstRoundDone()

		srv.healthy.Store(false)
		failed := time.Now()
		before := srv.requests.Load()
		down := nextWithin(t, rec, time.Minute)
		if down.From != Up || down.To != Down || down.Reason != "HTTP 503 Service Unavailable" {
			t.Fatalf("got %+v, want up -> down with the 503", down)
		}
		if n := srv.requests.Load() - before; n != 3 {
			t.Errorf("down after %d failing probes, want fall=3", n)
		}
		if took := time.Since(failed); took < 20*time.Second || took > 30*time.Second {
			t.Errorf("down %s after the site failed, want 20-30s (fall 3 at 10s)", took)
		}

		srv.healthy.Store(true)
		back := time.Now()
		before = srv.requests.Load()
		if up := nextWithin(t, rec, time.Minute); up.From != Down || up.To != Up {
			t.Fatalf("got %+v, want down -> up", up)
		}
		if n := srv.requests.Load() - before; n != 2 {
			t.Errorf("up after %d passing probes, want rise=2", n)
		}
		if took := time.Since(back); took < 10*time.Second || took > 20*time.Second {
			t.Errorf("up %s after the site came back, want 10-20s (rise 2 at 10s)", took)
		}
	})
}

// nextWithin is recorder.next with a wait fit for the fake clock.
func nextWithin(t *testing.T, r *recorder, d time.Duration) Transition {
	t.Helper()
	select {
	case tr := <-r.ch:
		return tr
	case <-time.After(d):
		t.Fatalf("no transition within %s; so far: %+v", d, r.all())
		return Transition{}
	}
}
