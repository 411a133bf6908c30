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

// A command that reaches the log twice (a proposal retried after the
// leader changed under it) applies once; its second copy succeeds
// without effect, until the ID is older than the dedup window.
func TestCommandAppliesOnce(t *testing.T) {
	st := NewState()
	t0 := time.Date(2026, 11, 22, 3, 12, 0, 0, time.UTC)
	open := &Command{Type: CmdIncident, Time: t0, ID: "n1-x-1", Incident: &IncidentCommand{Action: IncidentActionOpen, Title: "us-east is down", Message: "moved"}}
	for i := range 2 {
		if err := st.apply(open); err != nil {
			t.Fatalf("copy %d: %v", i+1, err)
		}
	}
	if len(st.Incidents) != 1 {
		t.Errorf("%d incidents after two copies of one open, want 1", len(st.Incidents))
	}
	events := len(st.Events)
	again := *open
	again.ID = "n1-x-2" // a new command saying the same: a second incident
	if err := st.apply(&again); err != nil {
		t.Fatal(err)
	}
	if len(st.Incidents) != 2 || len(st.Events) == events {
		t.Errorf("a distinct command was taken for a copy: %d incidents", len(st.Incidents))
	}
	later := *open
	later.Time = t0.Add(dedupWindow + time.Minute)
	later.ID = "n1-x-3"
	if err := st.apply(&later); err != nil {
		t.Fatal(err)
	}
	if _, kept := st.Applied["n1-x-1"]; kept {
		t.Errorf("an ID older than the dedup window is still remembered")
	}
}

// The commands a person makes carry an ID; the frequent, idempotent ones
// do not.
func TestOnceOnlyCommands(t *testing.T) {
	for _, typ := range []CommandType{CmdSetSpec, CmdSetOverride, CmdClearOverride, CmdIncident, CmdRegisterMember, CmdRemoveMember} {
		if !onceOnly(typ) {
			t.Errorf("%s carries no ID", typ)
		}
	}
	for _, typ := range []CommandType{CmdObserverReport, CmdHeartbeat, CmdNotifyCursor, CmdProviderSync} {
		if onceOnly(typ) {
			t.Errorf("%s carries an ID: frequent and idempotent, it should not", typ)
		}
	}
}
