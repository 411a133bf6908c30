package controller

import "time"

// A node whose Raft log cannot be written (a full disk) still hears the
// leader's heartbeats, which carry no entries, so by its last contact it
// is in touch; yet it takes none of the leader's entries and its replica
// stands still. Its answers would stay whatever they were when the disk
// filled, a dead site's address included, for as long as the disk stays
// full. So once every write to its log has failed for longer than
// minority_after, it counts as cut off: it answers by its minority_mode
// (its own checks, SERVFAIL, or its last answers), as a partitioned node
// does, until a write succeeds and it has caught up with the leader.

// storageStalled reports whether this node's Raft log writes have all
// failed for longer than the minority watcher's After (chaos seed 5001).
func (m *Minority) storageStalled() bool {
	since := m.store.logs.failingSince()
	stalled := !since.IsZero() && time.Since(since) > m.opts.After
	if m.store.logs.stallNoted.CompareAndSwap(!stalled, stalled) {
		if stalled {
			m.opts.Logger.Warn("this node cannot write its Raft log: it takes none of the leader's entries, so it answers by minority_mode until a write succeeds",
				"failing_for", time.Since(since).Round(time.Millisecond), "mode", m.opts.Mode)
		} else {
			m.opts.Logger.Info("this node can write its Raft log again")
		}
	}
	return stalled
}

// failingSince is when the log's writes began to fail, zero while its
// latest write succeeded.
func (l *logStore) failingSince() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lastErr == nil {
		return time.Time{}
	}
	return l.since
}
