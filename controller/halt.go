package controller

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// Errors of a replica that cannot apply its log. Check them with
// errors.Is.
var (
	// ErrHalted means this replica stopped applying the log at an entry
	// it could not apply (a panic, an unknown command type, answers
	// that would not build). It keeps serving the answers it had.
	ErrHalted = errors.New("this node's state machine is halted")
	// ErrSkipped is the result of an entry the operator told the node
	// to skip (FSMHooks.Skip, the agent's --skip-entry).
	ErrSkipped = errors.New("entry skipped by the operator")
)

// Halt says where and why a replica stopped applying the log.
type Halt struct {
	// Index and Term are those of the entry that failed.
	Index  uint64    `json:"index"`
	Term   uint64    `json:"term"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// err is the error every later entry gets.
func (h *Halt) err() error {
	return fmt.Errorf("%w at entry %d: %s; if every node halted there, restart each with --skip-entry %d, else restart this one after fixing the cause (docs/cluster.md, A node that halted)", ErrHalted, h.Index, h.Reason, h.Index)
}

// FSMHooks change how a replica applies its log: the operator's repair
// and the tests' fault injection.
type FSMHooks struct {
	// Skip lists log indexes not to apply (a halted replica's repair).
	Skip []uint64
	// BeforeApply, for tests, sees every decoded command before it
	// applies and may panic to simulate a failure.
	BeforeApply func(*Command)
	// Now is this node's wall clock; nil means time.Now.
	Now func() time.Time
}

func (h FSMHooks) now() time.Time {
	if h.Now == nil {
		return time.Now()
	}
	return h.Now()
}

// haltAt stops the replica at entry l, whose application failed: the
// state goes back to saying it holds entries up to prevIndex, so that
// no snapshot or applied-index note claims the entry, and every later
// entry is refused until the node restarts (with the entry skipped) or
// restores a snapshot. Called with mu held; returns the entry's result.
func (f *FSM) haltAt(l *raft.Log, prevIndex, prevTerm uint64, reason string, stack []byte) error {
	f.m.SetApplied(prevIndex, prevTerm)
	h := &Halt{Index: l.Index, Term: l.Term, Reason: reason, At: f.hooks.now().UTC()}
	f.halt.Store(h)
	attrs := []any{"index", l.Index, "term", l.Term, "reason", reason}
	if stack != nil {
		attrs = append(attrs, "stack", string(stack))
	}
	f.logger.Error("halted: cannot apply a log entry; serving the last answers, not ready until repaired", attrs...)
	return h.err()
}

// Halted returns where and why this replica stopped applying the log,
// or nil while it applies.
func (f *FSM) Halted() *Halt { return f.halt.Load() }
