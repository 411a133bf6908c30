package machine

import (
	"bytes"
	"os"
	"testing"
	"time"
)

// format1Fixture is a snapshot in format 1 (the state as JSON), written
// by the version before format 2 from richState; nodes upgrade one at a
// time, so a new version restores it.
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

// TestWriteFormat1Fixture writes the format-1 fixture with this
// version's encoder: run once, by the last version that wrote format 1.
func TestWriteFormat1Fixture(t *testing.T) {
	if os.Getenv("DETOUR_WRITE_FORMAT1") == "" {
		t.Skip("DETOUR_WRITE_FORMAT1 unset")
	}
	st := richState(t)
	b, err := encodeSnapshot(st)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.Write(b)
	out.WriteByte('\n')
	if err := os.WriteFile(format1Fixture, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
