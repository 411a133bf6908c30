package controller

import (
	"context"
	"testing"
	"time"
)

// Seeds 1000, 1002, 3001, 3003, 3012, 4002, 4004: a leader frozen
// (SIGSTOP) while a site died answered the dead address for up to a
// second after SIGCONT, from its state and checks older than the pause.
// A node whose minority tick is overdue by more than pauseAfter answers
// SERVFAIL at once (a query can arrive before the tick runs), stays so
// after the tick notices the pause until it has confirmed with a quorum
// (or caught up with the leader), and answers again after.
func TestPausedNodeAnswersServfailUntilCaughtUp(t *testing.T) {
	stores, _ := seededCluster(t)
	var leader *Store
	for _, s := range stores {
		if s.IsLeader() {
			leader = s
		}
	}
	if leader == nil {
		t.Fatal("no leader")
	}
	m, err := NewMinority(leader, MinorityOptions{Mode: MinorityLast})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m.step(ctx)
	if _, override := m.Answers(); override || m.ServFail() {
		t.Fatal("a node that runs answers by its mode: want the cluster's answers")
	}
	// The process was stopped for 6 s after its last tick: a query now,
	// before the next tick, must not get the state from before.
	m.lastTick.Store(int64(m.sinceStart() - 6*time.Second))
	if snap, override := m.Answers(); !override || snap != nil || !m.ServFail() {
		t.Errorf("right after a pause: override %v, snapshot %v, servfail %v; want SERVFAIL", override, snap != nil, m.ServFail())
	}
	// Deposed while paused, in its own eyes still the leader: no quorum
	// confirms it, so it keeps answering SERVFAIL.
	for _, s := range stores {
		if s != leader {
			s.Close()
		}
	}
	m.lastTick.Store(int64(m.sinceStart() - 6*time.Second))
	m.step(ctx)
	if !m.ServFail() {
		t.Error("a paused leader that cannot confirm its leadership answers from its old state; want SERVFAIL")
	}
}

// A paused node that confirms it still leads (or catches up with the
// leader) answers again.
func TestPausedNodeAnswersAgainOnceCaughtUp(t *testing.T) {
	stores, follower := seededCluster(t)
	for _, s := range []*Store{follower, leaderOf(stores)} {
		m, err := NewMinority(s, MinorityOptions{Mode: MinorityLast})
		if err != nil {
			t.Fatal(err)
		}
		m.step(context.Background())
		m.lastTick.Store(int64(m.sinceStart() - 6*time.Second))
		m.step(context.Background())
		if _, override := m.Answers(); override || m.ServFail() {
			t.Errorf("%s (leader %v): still SERVFAIL after catching up following a pause", s.ID(), s.IsLeader())
		}
	}
}
