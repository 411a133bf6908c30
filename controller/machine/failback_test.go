package machine

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

func failbackSpec(extra string) string {
	return `zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
datacenters: [{name: east}, {name: west}]
checks:
  - {name: web, type: tcp, port: 80}
pools:
  - {name: a, datacenter: east, check: web, endpoints: [{address: 192.0.2.1}]}
  - {name: b, datacenter: west, check: web, endpoints: [{address: 192.0.2.2}]}
records:
  - {name: www.example.test, type: A, pools: [a, b], ` + extra + `}
`
}

// failbackRun is a transcript: commands applied to one state at given
// seconds after t0, and the pool www answers from after each.
type failbackRun struct {
	t  *testing.T
	st *State
	t0 time.Time
}

func newFailbackRun(t *testing.T, extra string) *failbackRun {
	r := &failbackRun{t: t, st: NewState(), t0: time.Date(2026, 12, 1, 15, 4, 0, 0, time.UTC)}
	r.do(0, &Command{Type: CmdSetSpec, Spec: &SetSpec{YAML: []byte(failbackSpec(extra))}})
	return r
}

func (r *failbackRun) do(sec float64, c *Command) error {
	r.t.Helper()
	c.Time = r.t0.Add(time.Duration(sec * float64(time.Second)))
	_, err := r.st.apply(c)
	return err
}

func (r *failbackRun) report(sec float64, up bool) {
	r.t.Helper()
	if err := r.do(sec, &Command{Type: CmdObserverReport, Report: &ObserverReport{Observer: "n1", Changes: []VerdictChange{{Pool: "a", Address: "192.0.2.1", Up: up}, {Pool: "b", Address: "192.0.2.2", Up: true}}}}); err != nil {
		r.t.Fatal(err)
	}
}

func (r *failbackRun) sweep(sec float64) {
	r.t.Helper()
	if err := r.do(sec, &Command{Type: CmdExpireOverrides}); err != nil {
		r.t.Fatal(err)
	}
}

func (r *failbackRun) want(step, pool string) {
	r.t.Helper()
	if got := r.st.Decisions()[0].Pool; got != pool {
		r.t.Fatalf("%s: www answers from pool %s (%s), want %s", step, got, r.st.Decisions()[0].Reason, pool)
	}
}

// restored is the state a replica restoring a snapshot of r holds.
func (r *failbackRun) restored() *State {
	r.t.Helper()
	b, err := json.Marshal(r.st)
	if err != nil {
		r.t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		r.t.Fatal(err)
	}
	if st.spec, err = spec.Parse(st.SpecYAML); err != nil {
		r.t.Fatal(err)
	}
	st.derive(false)
	return &st
}

func TestFailbackAfterTranscript(t *testing.T) {
	r := newFailbackRun(t, "failback_after: 2s")
	r.report(1, true)
	r.want("healthy", "a")
	r.report(2, false)
	r.want("a down", "b")
	r.report(3, true)
	r.want("a back: held", "b")
	if h := r.st.Held("www.example.test.", "A"); h == nil || !h.Until.Equal(r.t0.Add(5*time.Second)) || h.Preferred != "a" {
		t.Fatalf("hold %+v, want until t0+5s", h)
	}
	if d := r.restored().Decisions()[0]; d.Pool != "b" || !strings.Contains(d.Reason, "held on pool b") {
		t.Fatalf("a replica restoring a snapshot answers %+v, want held on b", d)
	}
	r.sweep(4.9)
	r.want("before the hold-down ends", "b")
	r.report(4.95, false) // a relapses: the hold ends, the wait starts over
	r.want("a down again", "b")
	r.report(5, true)
	r.sweep(6.5)
	r.want("1.5 s after the second recovery", "b")
	r.sweep(7)
	r.want("2 s after the second recovery", "a")
	if r.st.Held("www.example.test.", "A") != nil || len(r.st.Holds) != 0 {
		t.Fatalf("holds left: %+v", r.st.Holds)
	}
	if d := r.restored().Decisions()[0]; d.Pool != "a" {
		t.Fatalf("a restored replica answers %+v after the fail-back", d)
	}
}

func TestFailbackManualTranscript(t *testing.T) {
	r := newFailbackRun(t, "failback: manual")
	release := &Command{Type: CmdClearOverride, Clear: &ClearOverride{Kind: OverrideFailback, Record: "www.example.test", Author: "alice"}}
	if err := r.do(0.5, release); !errors.Is(err, ErrNotFound) {
		t.Fatalf("release with nothing held: %v, want ErrNotFound", err)
	}
	r.report(1, false)
	r.report(2, true)
	r.sweep(3600)
	r.want("an hour after the recovery", "b")
	release.ID = "release-1"
	if err := r.do(3601, release); err != nil {
		t.Fatal(err)
	}
	r.want("released", "a")
	ev := r.st.Events[len(r.st.Events)-2]
	if ev.Kind != "failback" || !strings.Contains(ev.Message, "released by alice: failing back to pool a") {
		t.Fatalf("event %+v, want the release with its author", ev)
	}

	// A pin's release fails back at once: no hold for an operator's act.
	r.report(3602, false)
	pin := &Command{Type: CmdSetOverride, Override: &Override{Kind: OverridePin, Record: "www.example.test", Type: "A", Pool: "b", Reason: "test"}}
	if err := r.do(3603, pin); err != nil {
		t.Fatal(err)
	}
	r.report(3604, true)
	r.want("pinned", "b")
	if err := r.do(3605, &Command{Type: CmdClearOverride, Clear: &ClearOverride{Kind: OverridePin, Record: "www.example.test", Type: "A"}}); err != nil {
		t.Fatal(err)
	}
	r.want("pin released", "a")
}
