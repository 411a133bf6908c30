package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Result is what a committed command did: where it sits in the log and
// what it produced. A once-only command retried after a leader change
// (the same Command.ID) answers with the first copy's result.
type Result struct {
	// Index is the Raft log index of the entry that applied the
	// command. A node that has applied Index shows the change.
	Index uint64 `json:"index"`
	// SpecVersion is the version a set_spec made.
	SpecVersion uint64 `json:"spec_version,omitempty"`
	// Override is the override a set_override stored (its Created and
	// Expires in the cluster's clock), or the one a clear_override
	// removed.
	Override *Override `json:"override,omitempty"`
	// Incident is the ID of the incident an incident command opened,
	// updated or resolved.
	Incident string `json:"incident,omitempty"`
	// Duplicate is true when this copy of a once-only command was a
	// retry: it changed nothing, the result is the first copy's.
	Duplicate bool `json:"duplicate,omitempty"`
}

// clone returns a copy that shares nothing with r.
func (r Result) clone() Result {
	r.Override = r.Override.clone()
	return r
}

// clone returns a copy of o, nil for nil.
func (o *Override) clone() *Override {
	if o == nil {
		return nil
	}
	c := *o
	return &c
}

// rememberResult keeps what the once-only command id produced, for a
// retried copy; forgotten with its ID (see remember).
func (st *State) rememberResult(id string, r Result) {
	st.remember(id)
	if st.Results == nil {
		st.Results = map[string]Result{}
	}
	maps.DeleteFunc(st.Results, func(k string, _ Result) bool {
		_, kept := st.Applied[k]
		return !kept
	})
	st.Results[id] = r.clone()
}

// firstResult is the result of the command id, already applied at index
// at. Entries applied by an older version kept no result: the index is
// all there is.
func (st *State) firstResult(id string, at uint64) Result {
	r, ok := st.Results[id]
	if !ok {
		r = Result{Index: at}
	}
	r = r.clone()
	r.Duplicate = true
	return r
}

// waitPoll is how often WaitApplied looks again when nothing signals
// (a safety net: every apply and restore signals).
const waitPoll = 50 * time.Millisecond

// WaitApplied waits until this replica has applied the log up to index,
// so that what it shows includes that entry: read-your-writes after a
// Propose, on any node. Index is a command's (Result.Index): Raft's
// own entries (configuration changes) never reach the state machine. It
// returns ctx's error when the replica is not
// there in time, and ErrHalted when it stopped applying short of it.
func (f *FSM) WaitApplied(ctx context.Context, index uint64) error {
	t := time.NewTicker(waitPoll)
	defer t.Stop()
	for {
		changed := f.Changed()
		if f.AppliedIndex() >= index {
			return nil
		}
		if h := f.Halted(); h != nil {
			return fmt.Errorf("waiting for entry %d: %w", index, h.err())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for this node to apply entry %d (it has %d): %w", index, f.AppliedIndex(), ctx.Err())
		case <-changed:
		case <-t.C:
		}
	}
}

// WaitApplied waits until this node's state machine has applied the log
// up to index (a Result's Index), bounded by ctx. See FSM.WaitApplied.
func (s *Store) WaitApplied(ctx context.Context, index uint64) error {
	return s.fsm.WaitApplied(ctx, index)
}

// DecisionsAt returns every record's answer and why, with the index of
// the last entry applied in the state they come from.
func (f *FSM) DecisionsAt() ([]Decision, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.st.decisions), f.st.Index
}
