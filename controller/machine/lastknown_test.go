package machine

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"
)

// contractState is the contract spec in force with observers a, b and c
// registered, at t0.
func contractState(t *testing.T, t0 time.Time) *State {
	t.Helper()
	yaml, err := os.ReadFile("../../examples/contract/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st := NewState()
	must := func(c *Command) {
		t.Helper()
		c.Time = t0
		if _, err := st.apply(c); err != nil {
			t.Fatal(err)
		}
	}
	must(&Command{Type: CmdSetSpec, Spec: &SetSpec{YAML: yaml}})
	for _, id := range []string{"a", "b", "c"} {
		must(&Command{Type: CmdRegisterMember, Member: &Member{ID: id}})
	}
	return st
}

func wwwDecision(st *State) string {
	for _, d := range st.Decisions() {
		if d.Name == "www.example.test." && d.Type == "A" {
			return describe(d)
		}
	}
	return "no decision"
}

// An endpoint the observers judged down stays down when every observer
// goes stale (a leader's pause, a partition): the last verdict stands.
// An endpoint no observer ever judged still counts as up.
func TestNoFreshObserverKeepsLastVerdict(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	st := contractState(t, t0)
	if got := wwwDecision(st); got != "192.0.2.10 (pool web-us-east)" {
		t.Fatalf("before any report, www answers %s: an endpoint never judged counts as up", got)
	}
	for _, id := range []string{"a", "b", "c"} {
		_, err := st.apply(&Command{Type: CmdObserverReport, Time: t0.Add(time.Second), Report: &ObserverReport{Observer: id,
			Changes: []VerdictChange{{Pool: "web-us-east", Address: "192.0.2.10", Up: false, Reason: "refused"}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	moved := wwwDecision(st)
	if moved != "198.51.100.10 (pool web-us-west)" {
		t.Fatalf("after us-east was reported down, www answers %s", moved)
	}
	for _, id := range []string{"a", "b", "c"} {
		_, err := st.apply(&Command{Type: CmdObserverLiveness, Time: t0.Add(10 * time.Second), Liveness: &ObserverLiveness{Observer: id, Reason: "test"}})
		if err != nil {
			t.Fatal(err)
		}
		if st.Observers[id].Fresh {
			t.Fatalf("observer %s still fresh", id)
		}
	}
	if got := wwwDecision(st); got != moved {
		t.Errorf("with every observer stale, www answers %s, want %s (the last verdict)", got, moved)
	}
	if h := st.health["web-us-east/192.0.2.10"]; !h.Known || h.Up {
		t.Errorf("us-east health with no fresh observer: %+v", h)
	}

	// A replica restored from a snapshot decides the same.
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	m := New(nil)
	restored, err := DecodeSnapshot(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	m.Restore(restored)
	m.Read(func(r *State) {
		if got := wwwDecision(r); got != moved {
			t.Errorf("restored from a snapshot, www answers %s, want %s", got, moved)
		}
	})
}

// A stale mark names the report the leader judged from: when the
// observer reported after it, the mark changes nothing, however late it
// lands.
func TestStaleMarkVoidOnceObserverReported(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	st := contractState(t, t0)
	judged := st.Observers["a"].LastReport
	if _, err := st.apply(&Command{Type: CmdObserverReport, Time: t0.Add(time.Second), Report: &ObserverReport{Observer: "a"}}); err != nil {
		t.Fatal(err)
	}
	mark := &ObserverLiveness{Observer: "a", Reason: "no report for 5s", LastReport: judged}
	if _, err := st.apply(&Command{Type: CmdObserverLiveness, Time: t0.Add(6 * time.Second), Liveness: mark}); err != nil {
		t.Fatal(err)
	}
	if !st.Observers["a"].Fresh {
		t.Error("a stale mark judged from an older report made the observer stale")
	}
	mark.LastReport = st.Observers["a"].LastReport
	if _, err := st.apply(&Command{Type: CmdObserverLiveness, Time: t0.Add(7 * time.Second), Liveness: mark}); err != nil {
		t.Fatal(err)
	}
	if st.Observers["a"].Fresh {
		t.Error("a stale mark judged from the last report did not apply")
	}
}
