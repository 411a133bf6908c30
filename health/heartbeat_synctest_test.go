package health

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// The heartbeat tests run in a synctest bubble: the engine's evaluation
// ticks and max_age run on the bubble's fake clock, so the tests take no
// wall time for the waits they used to sleep through, and can say
// exactly when a transition happens.

func TestHeartbeatBeatStopBeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxAge = 300 * time.Millisecond
		e, rec := startEngine(t, heartbeatSpec(maxAge), Options{})
		job := TargetID{Pool: "jobs", Address: "192.0.2.50"}
		next := func() Transition {
			for {
				if tr := rec.next(t); tr.Target == job {
					return tr
				}
			}
		}
		beat := func() {
			t.Helper()
			if err := e.Heartbeat("nightly", "192.0.2.50", time.Now()); err != nil {
				t.Fatalf("beat: %v", err)
			}
		}

		beat()
		if tr := next(); tr.To != Up {
			t.Fatalf("got %+v, want up after a beat", tr)
		}
		// The job stops beating: down once max_age has passed since the
		// beat, at the first evaluation after it (every 50ms).
		last := time.Now()
		tr := next()
		if tr.To != Down || !strings.HasPrefix(tr.Reason, "last heartbeat ") || !strings.HasSuffix(tr.Reason, "ago (max_age 300ms)") {
			t.Fatalf("got %+v, want down for lack of beats", tr)
		}
		if took := time.Since(last); took < maxAge || took > maxAge+100*time.Millisecond {
			t.Errorf("down %s after the last beat, want max_age (%s) to one evaluation later", took, maxAge)
		}
		// A beat for another endpoint of the check changes nothing for it.
		if err := e.Heartbeat("nightly", "mailer.example.test", time.Now()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond) // three evaluations, on the fake clock
		synctest.Wait()
		if st := verdictOf(e, job); st.Verdict != Down {
			t.Fatalf("verdict %v after another endpoint's beat, want still down", st.Verdict)
		}

		// The job comes back.
		beat()
		if tr := next(); tr.To != Up {
			t.Fatalf("got %+v, want up after the job beat again", tr)
		}
	})
}

// A job that never beats gets max_age of grace from start, then is down.
func TestHeartbeatNeverBeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxAge = 200 * time.Millisecond
		start := time.Now()
		_, rec := startEngine(t, heartbeatSpec(maxAge), Options{})
		job := TargetID{Pool: "jobs", Address: "mailer.example.test."}
		var got []Transition
		var downAt time.Duration
		for len(got) < 2 {
			if tr := rec.next(t); tr.Target == job {
				got = append(got, tr)
				downAt = time.Since(start)
			}
		}
		if got[0].To != Up || got[1].To != Down || !strings.HasPrefix(got[1].Reason, "no heartbeat since start") {
			t.Fatalf("transitions %+v, want up (grace) then down with no heartbeat since start", got)
		}
		if downAt < maxAge || downAt > maxAge+100*time.Millisecond {
			t.Errorf("down %s after start, want max_age (%s) to one evaluation later", downAt, maxAge)
		}
	})
}
