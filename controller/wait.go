package controller

import (
	"context"
	"fmt"
	"time"
)

// waitPoll is how often WaitApplied looks again when nothing signals
// (a safety net: every apply and restore signals).
const waitPoll = 50 * time.Millisecond

// WaitApplied waits until this replica has applied the log up to index
// and published the DNS answers of that state (or a later one), so that
// what it shows and answers includes that entry: read-your-writes after
// a Propose, on any node. Index is a command's (Result.Index): Raft's
// own entries (configuration changes) never reach the state machine. It
// returns ctx's error when the replica is not there in time, and
// ErrHalted when it stopped applying short of it.
func (f *FSM) WaitApplied(ctx context.Context, index uint64) error {
	t := time.NewTicker(waitPoll)
	defer t.Stop()
	for {
		changed, pub := f.Changed(), f.pub.current()
		if f.AppliedIndex() >= index && pub.index >= index {
			return nil
		}
		if h := f.Halted(); h != nil {
			return fmt.Errorf("waiting for entry %d: %w", index, h.err())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for this node to apply entry %d (it has %d, answers built for %d): %w", index, f.AppliedIndex(), f.PublishedIndex(), ctx.Err())
		case <-changed:
		case <-pub.changed:
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
	v := f.View()
	return v.Decisions(), v.Index()
}
