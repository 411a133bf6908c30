package controller

import (
	"slices"
	"time"

	"github.com/hashicorp/raft"
)

// A node whose Raft log cannot be written (a full disk) still hears the
// leader's heartbeats, which carry no entries, so by its last contact it
// is in touch; yet it takes none of the leader's entries and its replica
// stands still. Its answers would stay whatever they were when the disk
// filled, a dead site's address included, for as long as the disk stays
// full. So once every write to its log has failed for longer than
// storageGrace, it counts as cut off: it answers by its minority_mode
// (its own checks, SERVFAIL, or its last answers), as a partitioned node
// does, until a write succeeds and it has caught up with the leader.

// storageGrace is how long a node's log writes may fail before it
// answers by its minority mode: the leader retries a failed append
// within it, and a write that failed once and then succeeded costs
// nothing. It is short because the entry whose write fails first is
// often the one the answers need (a site's death): the answers must
// move within interval x fall + one election + 1 s of it.
const storageGrace = time.Second

// storageStalled reports whether this node's Raft log writes have all
// failed for longer than storageGrace (chaos seeds 5001, 5002).
func (m *Minority) storageStalled() bool {
	since := m.store.logs.failingSince()
	stalled := !since.IsZero() && time.Since(since) > storageGrace
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

// setOnStall sets the function told when the log starts or stops failing.
func (l *logStore) setOnStall(f func(failing bool)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.onStall = f
}

// standAside keeps a node whose Raft log cannot be written from standing
// for election, and lets it stand again once a write succeeds. A leader
// whose log write fails steps down (hashicorp/raft), but its log is as
// long as anyone's, so it won the next election, failed its first
// commit and stepped down again, round after round, and the cluster had
// no working leader for as long as its disk was full (chaos seed 5002).
// It still notices a silent leader, votes for others, and follows a
// leader, taking its entries again once it has room: the transport
// sends none of its own pre-votes and votes (priorityTransport.aside).
// Before, it waited an hour-long heartbeat timeout instead, so it never
// noticed a silent leader and refused every other candidate "since we
// have a leader": with the leader frozen, the third node could not be
// elected until the disk was written again (chaos seed 10122, 9 s
// without a leader). Only where the other voters are a majority without
// it (three voters or more): a node alone, or one of two, must stand,
// or nobody would lead and write to it once it has room. Called in
// Raft's goroutine, before a leader that failed steps down.
func (s *Store) standAside(failing bool) {
	if failing && !s.othersAreMajority() {
		return
	}
	if s.prio == nil || s.prio.aside.Swap(failing) == failing {
		return
	}
	if failing {
		s.logger.Warn("this node cannot write its Raft log: it does not stand for election until a write succeeds")
	} else {
		s.logger.Info("this node can write its Raft log again: it may stand for election")
	}
}

// othersAreMajority reports whether this node is a voter and the other
// voters are a majority of all without it. It does not wait for Raft's
// goroutine.
func (s *Store) othersAreMajority() bool {
	voters := raftVoters(s.raft)
	return slices.Contains(voters, raft.ServerID(s.cfg.NodeID)) && 2*(len(voters)-1) > len(voters)
}
