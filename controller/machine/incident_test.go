package machine

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
		_, err := st.apply(&Command{Type: CmdIncident, Time: at, Incident: c})
		return err
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
		if _, err := st.apply(&Command{Type: CmdNotifyCursor, Time: now, Cursor: &c}); err != nil {
			t.Fatal(err)
		}
	}
	if c := st.Cursors["ops"]; c.Seq != 5 || c.Error != "HTTP 500" {
		t.Errorf("cursor %+v, want seq 5 with the last error", c)
	}
}

// A cursor that drops an event (its receiver refused it for what it
// is) moves past it and counts the drop with the receiver's words; a
// later cursor keeps the count.
func TestNotifyCursorCountsDrops(t *testing.T) {
	st := NewState()
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for i, c := range []NotifyCursor{
		{Channel: "hook", Seq: 0, Error: "event 1: HTTP 400 Bad Request"},
		{Channel: "hook", Seq: 1, Drop: "event 1 (record) dropped after 3 refusals: HTTP 400 Bad Request: payload not accepted"},
		{Channel: "hook", Seq: 2},
	} {
		if _, err := st.apply(&Command{Type: CmdNotifyCursor, Time: t0.Add(time.Duration(i) * time.Second), Cursor: &c}); err != nil {
			t.Fatal(err)
		}
	}
	c := st.Cursors["hook"]
	if c.Seq != 2 || c.Dropped != 1 || c.Error != "" || !strings.Contains(c.LastDropped, "dropped after 3 refusals: HTTP 400 Bad Request: payload not accepted") {
		t.Errorf("cursor %+v, want seq 2, one drop with the receiver's words, no error", c)
	}
}

// A command that reaches the log twice (a proposal retried after the
// leader changed under it) applies once; its second copy succeeds
// without effect, until the ID is dedupEntries entries old. A proposer
// with a fast clock does not make the state forget early.
func TestCommandAppliesOnce(t *testing.T) {
	st := NewState()
	t0 := time.Date(2026, 11, 22, 3, 12, 0, 0, time.UTC)
	open := &Command{Type: CmdIncident, Time: t0, ID: "n1-x-1", Incident: &IncidentCommand{Action: IncidentActionOpen, Title: "us-east is down", Message: "moved"}}
	applyAt := func(index uint64, c *Command) {
		t.Helper()
		st.Index = index // as the FSM sets it
		if _, err := st.apply(c); err != nil {
			t.Fatalf("entry %d: %v", index, err)
		}
	}
	applyAt(1, open)
	fast := &Command{Type: CmdRegisterMember, Time: t0.Add(time.Hour), ID: "n2-y-1", Member: &Member{ID: "n2", RaftAddr: "127.0.0.1:1", Datacenter: "dc"}}
	applyAt(2, fast) // a node whose clock is an hour ahead
	applyAt(3, open) // the retried copy
	if len(st.Incidents) != 1 {
		t.Errorf("%d incidents after two copies of one open, want 1", len(st.Incidents))
	}
	again := *open
	again.ID = "n1-x-2" // a new command saying the same: a second incident
	applyAt(4, &again)
	if len(st.Incidents) != 2 {
		t.Errorf("a distinct command was taken for a copy: %d incidents", len(st.Incidents))
	}
	later := again
	later.ID = "n1-x-3"
	applyAt(5+dedupEntries, &later)
	if _, kept := st.Applied["n1-x-1"]; kept {
		t.Errorf("an ID older than dedupEntries entries is still remembered")
	}
}

// The commands a person makes carry an ID; the frequent, idempotent ones
// do not.
func TestOnceOnlyCommands(t *testing.T) {
	for _, typ := range []CommandType{CmdSetSpec, CmdSetOverride, CmdClearOverride, CmdIncident, CmdRegisterMember, CmdRemoveMember} {
		if !typ.OnceOnly() {
			t.Errorf("%s carries no ID", typ)
		}
	}
	for _, typ := range []CommandType{CmdObserverReport, CmdHeartbeat, CmdNotifyCursor, CmdProviderSync} {
		if typ.OnceOnly() {
			t.Errorf("%s carries an ID: frequent and idempotent, it should not", typ)
		}
	}
}
