package controller

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrClockNotReady means this node leads but has not yet read the
// committed time its term starts from; the proposal is retried.
var ErrClockNotReady = errors.New("the leader's clock is not ready")

// leaderClock is the time the leader stamps into every command it
// appends: the state machine's only clock.
//
// A term starts from the committed state: base is the time of the last
// command applied plus the time elapsed since this node applied it
// (measured on its monotonic clock), or the node's wall clock when the
// state has no time yet. From then on a stamp is
//
//	max(last stamp, base + monotonic time elapsed since the term began)
//
// so it never goes back, and a wall clock that is wrong, stepped or
// skewed by a day moves nothing: no proposer's clock and no leader's
// wall clock enters the state once it has a time. The cost is that the
// cluster clock stands still while the whole cluster is down, so after
// a full stop the times it shows lag the wall clock by the downtime;
// durations (overrides' --for, observer staleness) are measured in this
// clock and are exact.
type leaderClock struct {
	mu    sync.Mutex
	term  uint64    // the term base and start are for; 0 before any
	base  time.Time // the cluster time at start
	start time.Time // when the term's clock began, with a monotonic reading
	last  time.Time // the latest stamp handed out
}

// now is the leader time for the term started; ok is false when the
// term's clock has not been set (see Store.leaderTime).
func (c *leaderClock) now(term uint64) (t time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.term != term || term == 0 {
		return time.Time{}, false
	}
	t = c.base.Add(time.Since(c.start))
	if t.Before(c.last) {
		t = c.last
	}
	c.last = t
	return t, true
}

// begin sets the clock for a new term from the committed time.
func (c *leaderClock) begin(term uint64, base time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.term, c.base, c.start = term, base.UTC(), time.Now()
	if c.last.After(c.base) {
		c.base = c.last // this node led before, further on than the state it reads
	}
}

// clockBarrier bounds the wait for the state machine to catch up with
// the log at the start of a term.
const clockBarrier = 5 * time.Second

// leaderTime returns the leader's time for the current term, starting
// the term's clock first when needed: a raft Barrier makes sure the FSM
// has applied everything committed before, so the base is the latest
// committed time. It fails when this node does not lead.
func (s *Store) leaderTime() (time.Time, error) {
	term := s.raft.CurrentTerm()
	if t, ok := s.clock.now(term); ok {
		return t, nil
	}
	s.clockStart.Lock()
	defer s.clockStart.Unlock()
	if t, ok := s.clock.now(term); ok {
		return t, nil // another proposal started it meanwhile
	}
	if err := s.raft.Barrier(clockBarrier).Error(); err != nil {
		return time.Time{}, fmt.Errorf("%w: %w", ErrClockNotReady, err)
	}
	if s.raft.CurrentTerm() != term {
		return time.Time{}, fmt.Errorf("%w: the term changed under it", ErrClockNotReady)
	}
	base, ok := s.fsm.timeNow()
	if !ok {
		base = s.cfg.Now()
	}
	s.clock.begin(term, base)
	s.logger.Info("leader clock started", "term", term, "base", base.Format(time.RFC3339Nano))
	t, _ := s.clock.now(term)
	return t, nil
}

// stamp sets the command's time to the leader's, whatever the proposer
// put there, and returns it encoded for the log.
func (s *Store) stamp(data []byte) ([]byte, error) {
	if s.ownEncoded.take(data) { // this node's own big proposal (bigload_stamp.go)
		t, err := s.leaderTime()
		if err != nil {
			return nil, err
		}
		if out, ok := restamp(data, t); ok {
			return out, nil
		}
	}
	c, err := DecodeCommand(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCommand, err)
	}
	if !c.Type.Known() {
		return nil, fmt.Errorf("%w: unknown command type %q", ErrBadCommand, c.Type)
	}
	if c.Time, err = s.leaderTime(); err != nil {
		return nil, err
	}
	return c.Encode()
}
