package machine

import (
	"bytes"
	"os"
	"testing"
	"time"
)

// format1Fixture is a snapshot in format 1 (the state as JSON), written
// from richState by the format-1 encoder of the version before format 2
// (commit "machine: a format-1 snapshot fixture"); nodes upgrade one at
// a time, so a new version restores it.
const format1Fixture = "testdata/snapshot-format1.json"

// richState is a state with something in every part a snapshot holds:
// a spec, members and observers with verdicts (one stale), an override,
// an incident, events, serials, last known verdicts and once-only
// results.
func richState(t *testing.T) *State {
	t.Helper()
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	st := contractState(t, t0)
	must := func(c *Command) {
		t.Helper()
		st.Index++
		if _, err := st.apply(c); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range []string{"a", "b", "c"} {
		must(&Command{Type: CmdObserverReport, Time: t0.Add(time.Duration(i+1) * time.Second), Report: &ObserverReport{Observer: id,
			Changes: []VerdictChange{
				{Pool: "web-us-east", Address: "192.0.2.10", Up: false, Reason: "connection refused"},
				{Pool: "web-us-west", Address: "198.51.100.10", Up: true, Latency: 1.25},
				{Pool: "web-eu-west", Address: "203.0.113.10", Up: i != 1, Reason: "timeout", Latency: 2.5},
			}}})
	}
	must(&Command{Type: CmdObserverLiveness, Time: t0.Add(20 * time.Second), Liveness: &ObserverLiveness{Observer: "c", Reason: "silent for 10s"}})
	must(&Command{Type: CmdSetOverride, ID: "ov-1", Time: t0.Add(21 * time.Second), Override: &Override{Kind: OverrideDrain, Target: "eu-west", Reason: "maintenance", Author: "alice", For: "1h"}})
	must(&Command{Type: CmdIncident, ID: "inc-1", Time: t0.Add(22 * time.Second), Incident: &IncidentCommand{Action: IncidentActionOpen, Title: "us-east down", Message: "looking", Author: "bob"}})
	must(&Command{Type: CmdNotifyCursor, Time: t0.Add(23 * time.Second), Cursor: &NotifyCursor{Channel: "ops", Seq: 3}})
	return st
}

// A snapshot of format 1, written by the version before, restores into
// the state a replica that applied the same commands holds: the same
// snapshot in the current format, the same answers, serials, events,
// verdicts and last known verdicts.
func TestRestoreFormat1(t *testing.T) {
	old, err := os.ReadFile(format1Fixture)
	if err != nil {
		t.Fatal(err)
	}
	restored, err := DecodeSnapshot(bytes.NewReader(old))
	if err != nil {
		t.Fatal(err)
	}
	want := richState(t)
	a, err := encodeSnapshot(restored)
	if err != nil {
		t.Fatal(err)
	}
	b, err := encodeSnapshot(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("restored from format 1, the state differs from the one applied:\n%s\n%s", a, b)
	}
	if got, w := describeAll(restored.Decisions()), describeAll(want.Decisions()); got != w {
		t.Errorf("answers restored %s, want %s", got, w)
	}
	if len(restored.LastKnown) != 3 || len(restored.Observers["a"].Verdicts) != 3 || restored.Observers["c"].Fresh {
		t.Errorf("restored verdicts: last known %v, a's %d, c fresh %v", restored.LastKnown, len(restored.Observers["a"].Verdicts), restored.Observers["c"].Fresh)
	}
}

// A snapshot of format 2 restores into the state it was taken of, and
// reuses the spec of the restoring machine when it is the same.
func TestSnapshotRoundTrip(t *testing.T) {
	st := richState(t)
	m := New(nil)
	m.Restore(st)
	m.Publish(time.Now())
	data, err := m.Capture().Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte(`{"format":2,`)) {
		t.Fatalf("a snapshot does not start with its format: %.40s", data)
	}
	fresh, err := DecodeSnapshot(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	again, err := encodeSnapshot(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Errorf("restored and written again, the snapshot differs:\n%s\n%s", data, again)
	}
	if fresh.Spec() == st.Spec() {
		t.Error("a state restored without a machine shares the spec")
	}
	if got, want := describeAll(fresh.Decisions()), describeAll(st.Decisions()); got != want {
		t.Errorf("answers restored %s, want %s", got, want)
	}
	over, err := m.DecodeSnapshot(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if over.Spec() != st.Spec() {
		t.Error("restored over a machine holding the same spec, the spec was read again")
	}
	if !m.View().InForce(st.SpecYAML) || m.View().InForce([]byte("zones: []")) {
		t.Error("InForce does not tell the spec in force by its text")
	}
}

// A format-2 snapshot cut short or with a body changed is refused, never
// half read.
func TestSnapshotBodyRefused(t *testing.T) {
	st := richState(t)
	data, err := encodeSnapshot(st)
	if err != nil {
		t.Fatal(err)
	}
	nl := bytes.IndexByte(data, '\n')
	for name, b := range map[string][]byte{
		"cut":       data[:len(data)-3],
		"no body":   data[:nl],
		"extra":     append(bytes.Clone(data), 0),
		"no spec":   append(bytes.Clone(data[:nl+1]), 0, 0, 0, 0),
		"bad index": append(bytes.Clone(data[:len(data)-1]), 0x7f),
		"bad flags": append(bytes.Clone(data[:len(data)-2]), 0x40, 0),
	} {
		if _, err := DecodeSnapshot(bytes.NewReader(b)); err == nil {
			t.Errorf("%s: restored", name)
		}
	}
}

func describeAll(ds []Decision) string {
	var b bytes.Buffer
	for _, d := range ds {
		b.WriteString(d.Name + " " + describe(d) + "; ")
	}
	return b.String()
}
