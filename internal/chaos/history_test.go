package chaos

import (
	"testing"
	"time"
)

// The model accepts a history whose final read shows every write, and
// refuses one whose read lost an acknowledged drain.
func TestHistoryModel(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	init := State{Pin: -1, Version: 1, TTL: 1}
	build := func(read State) *History {
		h := NewHistory(t0)
		h.Record(0, OpInput{Kind: OpDrain, Arg: 1}, OpOutput{Outcome: Applied}, at(0), at(10))
		h.Record(1, OpInput{Kind: OpSpec, Arg: 5}, OpOutput{Outcome: Applied, Version: 2, Changed: true}, at(5), at(20))
		h.Record(0, OpInput{Kind: OpUndrain, Arg: 2}, OpOutput{Outcome: NotFound}, at(30), at(40))
		h.Record(1, OpInput{Kind: OpPin, Arg: 0}, OpOutput{Outcome: Unknown}, at(30), at(40))
		h.Record(0, OpInput{Kind: OpRead}, OpOutput{State: read}, at(50), at(60))
		return h
	}
	good := State{Drained: 2, Pin: -1, Version: 2, TTL: 5}
	if _, err := build(good).Linearizable(init, 10*time.Second); err != nil {
		t.Errorf("a correct history: %v", err)
	}
	pinned := good
	pinned.Pin = 0 // the unknown pin took effect
	if _, err := build(pinned).Linearizable(init, 10*time.Second); err != nil {
		t.Errorf("a correct history with the unknown pin applied: %v", err)
	}
	// Two applies of one spec at once: one version, both may say changed.
	twice := NewHistory(t0)
	twice.Record(0, OpInput{Kind: OpSpec, Arg: 4}, OpOutput{Outcome: Applied, Version: 2, Changed: true}, at(0), at(50))
	twice.Record(1, OpInput{Kind: OpSpec, Arg: 4}, OpOutput{Outcome: Applied, Version: 2, Changed: true}, at(1), at(51))
	twice.Record(0, OpInput{Kind: OpRead}, OpOutput{State: State{Pin: -1, Version: 2, TTL: 4}}, at(60), at(70))
	if _, err := twice.Linearizable(init, 10*time.Second); err != nil {
		t.Errorf("two applies of one spec: %v", err)
	}
	// An apply that claims a version the spec did not get is caught.
	wrong := NewHistory(t0)
	wrong.Record(0, OpInput{Kind: OpSpec, Arg: 4}, OpOutput{Outcome: Applied, Version: 1}, at(0), at(50))
	if _, err := wrong.Linearizable(init, 10*time.Second); err == nil {
		t.Error("a spec called in force at the old version passed")
	}
	// Seed 4006: an apply of the spec in force lost in a restart, then
	// another from a node that could not catch up: each commit made a
	// version, and the second said so.
	again := NewHistory(t0)
	again.Record(0, OpInput{Kind: OpSpec, Arg: 1}, OpOutput{Outcome: Unknown}, at(0), time.Time{})
	again.Record(1, OpInput{Kind: OpSpec, Arg: 1}, OpOutput{Outcome: Applied, Version: 3, Changed: true}, at(10), at(50))
	again.Record(1, OpInput{Kind: OpRead}, OpOutput{State: State{Pin: -1, Version: 3, TTL: 1}}, at(60), at(70))
	if _, err := again.Linearizable(init, 10*time.Second); err != nil {
		t.Errorf("applies of the spec in force that made versions: %v", err)
	}
	// Seed 3028: an apply that made version 3 but replied version 2.
	early := NewHistory(t0)
	early.Record(0, OpInput{Kind: OpSpec, Arg: 4}, OpOutput{Outcome: Applied, Version: 2, Changed: true}, at(0), at(10))
	early.Record(1, OpInput{Kind: OpSpec, Arg: 4}, OpOutput{Outcome: Applied, Version: 2, Changed: true}, at(20), at(50))
	early.Record(1, OpInput{Kind: OpRead}, OpOutput{State: State{Pin: -1, Version: 3, TTL: 4}}, at(60), at(70))
	if _, err := early.Linearizable(init, 10*time.Second); err == nil {
		t.Error("an apply that replied an earlier version than it made passed")
	}
	lost := good
	lost.Drained = 0
	if _, err := build(lost).Linearizable(init, 10*time.Second); err == nil {
		t.Error("a history that lost an acknowledged drain passed")
	}
}
