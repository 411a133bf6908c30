package health

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

func heartbeatSpec(maxAge time.Duration) *spec.Spec {
	hb := spec.Check{Name: "nightly", Type: spec.CheckHeartbeat, MaxAge: spec.Duration(maxAge),
		Interval: spec.Duration(50 * time.Millisecond), Timeout: spec.Duration(25 * time.Millisecond), Rise: 1, Fall: 1}
	web := httpCheckSpec("web")
	return &spec.Spec{
		Checks: []spec.Check{hb, web},
		Pools: []spec.Pool{
			{Name: "jobs", Check: "nightly", Endpoints: []spec.Endpoint{{Address: "192.0.2.50"}, {Address: "mailer.example.test."}, {Address: "2001:db8::5"}}},
			{Name: "web", Check: "web", Endpoints: []spec.Endpoint{{Address: "192.0.2.1", CheckAddress: "127.0.0.1:1"}}},
		},
	}
}

func verdictOf(e *Engine, id TargetID) Status {
	for _, st := range e.View() {
		if st.Target == id {
			return st
		}
	}
	return Status{}
}

func TestHeartbeatBeatStopBeat(t *testing.T) {
	e, rec := startEngine(t, heartbeatSpec(300*time.Millisecond), Options{})
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
	// The job stops beating.
	tr := next()
	if tr.To != Down || !strings.HasPrefix(tr.Reason, "last heartbeat ") || !strings.HasSuffix(tr.Reason, "ago (max_age 300ms)") {
		t.Fatalf("got %+v, want down for lack of beats", tr)
	}
	// A beat for another endpoint of the check changes nothing for it.
	if err := e.Heartbeat("nightly", "mailer.example.test", time.Now()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond) // three evaluations
	if st := verdictOf(e, job); st.Verdict != Down {
		t.Fatalf("verdict %v after another endpoint's beat, want still down", st.Verdict)
	}

	// The job comes back.
	beat()
	if tr := next(); tr.To != Up {
		t.Fatalf("got %+v, want up after the job beat again", tr)
	}
}

// Endpoints are matched as the spec writes them.
func TestHeartbeatEndpointSpellings(t *testing.T) {
	e, err := New(nil, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.Update(heartbeatSpec(time.Hour))
	for _, ep := range []string{"192.0.2.50", "Mailer.Example.Test", "mailer.example.test.", "2001:0db8::5", "2001:db8:0:0:0:0:0:5"} {
		if err := e.Heartbeat("nightly", ep, time.Now()); err != nil {
			t.Errorf("Heartbeat(nightly, %q) = %v", ep, err)
		}
	}
}

func TestHeartbeatErrors(t *testing.T) {
	e, err := New(nil, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.Update(heartbeatSpec(time.Hour))
	for _, c := range []struct {
		check, endpoint string
		want            error
	}{
		{"weekly", "192.0.2.50", ErrUnknownCheck},
		{"nightly", "192.0.2.99", ErrUnknownEndpoint},
		{"web", "192.0.2.1", ErrNotHeartbeat},
	} {
		if err := e.Heartbeat(c.check, c.endpoint, time.Now()); !errors.Is(err, c.want) {
			t.Errorf("Heartbeat(%q, %q) = %v, want %v", c.check, c.endpoint, err, c.want)
		}
	}
}

// A job that never beats gets max_age of grace from start, then is down.
func TestHeartbeatNeverBeats(t *testing.T) {
	_, rec := startEngine(t, heartbeatSpec(200*time.Millisecond), Options{})
	job := TargetID{Pool: "jobs", Address: "mailer.example.test."}
	var got []Transition
	for len(got) < 2 {
		if tr := rec.next(t); tr.Target == job {
			got = append(got, tr)
		}
	}
	if got[0].To != Up || got[1].To != Down || !strings.HasPrefix(got[1].Reason, "no heartbeat since start") {
		t.Fatalf("transitions %+v, want up (grace) then down with no heartbeat since start", got)
	}
}
