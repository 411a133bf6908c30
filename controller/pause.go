package controller

import (
	"context"
	"time"

	"github.com/seed3787e6f1/detour/health"
)

// A node that did not run for a while (SIGSTOP, a paused VM) holds state
// and health checks older than the pause: the cluster may have moved on
// without it (a site died, another leader was elected) while it still
// believes what it believed. Until it has caught up with a leader (or,
// cut off, until its own checks have run again and decided), it answers
// SERVFAIL, so resolvers ask another nameserver, whatever its
// minority_mode. The minority watcher's tick is the pause detector: a
// gap between ticks longer than pauseAfter is a pause, and a DNS query
// that arrives in such a gap (the first moments after SIGCONT, before
// the tick runs) is answered as paused too.

// pauseAfter is how long the minority tick may go without running before
// the node takes itself for paused: long enough for the others to notice
// a silent leader and stand for election.
func (m *Minority) pauseAfter() time.Duration {
	t := m.store.cfg.Timing
	return max(t.HeartbeatTimeout+t.ElectionTimeout, time.Second)
}

// sinceStart is monotonic time since the watcher was made (a paused
// process's monotonic clock keeps running).
func (m *Minority) sinceStart() time.Duration { return time.Since(m.started) }

// pausedNow reports whether this node answers as paused: it noticed a
// pause and has not caught up since, or its tick is overdue right now.
func (m *Minority) pausedNow() bool {
	if m == nil {
		return false
	}
	if m.stale.Load() {
		return true
	}
	last := m.lastTick.Load()
	return last != 0 && m.sinceStart()-time.Duration(last) > m.pauseAfter()
}

// notePause runs every minorityTick on a goroutine of its own, and first
// in each tick of the contact judgement: it marks the node paused when
// the tick before (of either) was longer ago than pauseAfter.
func (m *Minority) notePause() {
	now := m.sinceStart()
	last := time.Duration(m.lastTick.Swap(int64(now)))
	if last == 0 || now-last <= m.pauseAfter() {
		return
	}
	m.mu.Lock()
	m.resumed = time.Now()
	m.pauses++
	first := !m.stale.Swap(true)
	m.mu.Unlock()
	if first {
		m.paused.Inc()
	}
	m.opts.Logger.Warn("this node did not run for a while: answering SERVFAIL until it has caught up with a leader",
		"paused", (now - last).Round(time.Millisecond))
}

// endPause runs after each tick's contact judgement while paused: the
// node is current again once a leader other than its stale self
// confirmed how far to apply and it has, or, cut off, once its own
// checks have run since the resume and agree with their verdicts.
func (m *Minority) endPause(ctx context.Context, inContact bool) {
	if !m.stale.Load() {
		return
	}
	m.mu.Lock()
	resumed, pauses := m.resumed, m.pauses
	m.mu.Unlock()
	current := false
	switch {
	case inContact && !m.cut.Load():
		current = m.confirmedCaughtUp(ctx)
	case m.cut.Load():
		current = m.checkedSince(resumed)
	}
	if !current {
		return
	}
	// Another pause noticed meanwhile (the detector ticks on its own)
	// stands: this judgement may predate it.
	m.mu.Lock()
	again := m.pauses != pauses
	if !again {
		m.stale.Store(false)
	}
	m.mu.Unlock()
	if !again {
		m.opts.Logger.Info("caught up after the pause: answering again")
	}
}

// confirmedCaughtUp is caughtUp, except that a node that believes it
// leads commits a barrier first: a leader deposed while paused does not
// know it yet. Not VerifyLeader: a heartbeat's reply sent before the
// pause and read after it counts for that, so a deposed leader could
// pass it; a barrier's entry is new, only a quorum that accepts it now
// commits it.
func (m *Minority) confirmedCaughtUp(ctx context.Context) bool {
	if id, _ := m.store.Leader(); id == m.store.ID() {
		return m.store.raft.Barrier(caughtUpTimeout).Error() == nil
	}
	return m.caughtUp(ctx)
}

// checkedSince reports whether every target of this node's health engine
// was probed after t and its verdict agrees with that probe (rise/fall
// has decided on fresh evidence).
func (m *Minority) checkedSince(t time.Time) bool {
	if m.opts.Engine == nil {
		return true
	}
	for _, v := range m.opts.Engine.View() {
		if v.Verdict == health.Unknown || !v.LastAt.After(t) || (v.Verdict == health.Up) != v.LastUp {
			return false
		}
	}
	return true
}
