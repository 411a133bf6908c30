package health

import (
	"errors"
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
