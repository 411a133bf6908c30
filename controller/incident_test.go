package controller

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestIncidentLifecycle(t *testing.T) {
	st := NewState()
	t0 := time.Date(2026, 11, 22, 3, 12, 0, 0, time.UTC)
	apply := func(at time.Time, c *IncidentCommand) error {
		return st.apply(&Command{Type: CmdIncident, Time: at, Incident: c})
	}
	if err := apply(t0, &IncidentCommand{Action: IncidentActionOpen, Message: "no title"}); !errors.Is(err, ErrBadCommand) {
		t.Fatalf("open without a title: %v", err)
	}
	eta := t0.Add(2 * time.Hour)
	if err := apply(t0, &IncidentCommand{Action: IncidentActionOpen, Title: "us-east is down", Message: "Traffic moved to us-west", ETA: eta, Author: "alice"}); err != nil {
		t.Fatal(err)
	}
	inc := st.Incidents["1"]
	if inc == nil || inc.Status != "open" || !inc.ETA.Equal(eta) {
		t.Fatalf("opened: %+v", inc)
	}
	if err := apply(t0.Add(time.Minute), &IncidentCommand{Action: IncidentActionUpdate, ID: "1", Message: "power restored, syncing"}); err != nil {
		t.Fatal(err)
	}
	if err := apply(t0.Add(time.Hour), &IncidentCommand{Action: IncidentActionResolve, ID: "1", Message: "back to normal"}); err != nil {
		t.Fatal(err)
	}
	if inc.Status != "resolved" || len(inc.Updates) != 3 || !inc.ETA.IsZero() {
		t.Errorf("resolved: %+v", inc)
	}
	if err := apply(t0.Add(2*time.Hour), &IncidentCommand{Action: IncidentActionUpdate, ID: "1", Message: "late"}); !errors.Is(err, ErrIncidentResolved) {
		t.Errorf("update after resolve: %v", err)
	}
	if err := apply(t0, &IncidentCommand{Action: IncidentActionResolve, ID: "9"}); !errors.Is(err, ErrUnknownIncident) {
		t.Errorf("resolve of an unknown incident: %v", err)
	}
	var msgs []string
	for _, e := range st.Events {
		msgs = append(msgs, e.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"incident 1 opened by alice: us-east is down (expected back 2026-11-22 05:12 UTC)", "incident 1 updated by unknown: power restored", "incident 1 resolved"} {
		if !strings.Contains(all, want) {
			t.Errorf("audit log lacks %q:\n%s", want, all)
		}
	}
}

func TestNotifyCursorOnlyMovesForward(t *testing.T) {
	st := NewState()
	now := time.Now()
	for _, c := range []NotifyCursor{{Channel: "ops", Seq: 5}, {Channel: "ops", Seq: 3, Error: "HTTP 500"}} {
		if err := st.apply(&Command{Type: CmdNotifyCursor, Time: now, Cursor: &c}); err != nil {
			t.Fatal(err)
		}
	}
	if c := st.Cursors["ops"]; c.Seq != 5 || c.Error != "HTTP 500" {
		t.Errorf("cursor %+v, want seq 5 with the last error", c)
	}
}
