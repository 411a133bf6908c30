package controller

import (
	"context"
	"sync"
	"testing"
	"time"
)

// busyLeader proposes observer reports through s without pause until the
// test ends, so that the leader's applied index is always a little
// ahead of what any follower has applied when it hears it.
func busyLeader(t *testing.T, s *Store) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() {
		up := false
		for ctx.Err() == nil {
			up = !up
			_, _ = s.Propose(ctx, &Command{Type: CmdObserverReport, Report: &ObserverReport{Observer: "n3",
				Changes: []VerdictChange{{Pool: "web-us-west", Address: "198.51.100.10", Up: up, Reason: "test"}}}})
		}
	})
}

// Leaving minority mode waits for the index the leader named rather
// than comparing at once: a leader that commits all the time is always a
// little ahead of what a follower applied when the reply arrives (over a
// WAN, by a round trip's worth of entries), which kept a node cut off.
// awaitApplied returns once this node reaches an index still ahead of
// it, and gives up at its deadline when none comes.
func TestLeavingMinorityWaitsForTheLeadersIndex(t *testing.T) {
	stores, follower := seededCluster(t)
	m, err := NewMinority(follower, MinorityOptions{Mode: MinorityLocal})
	if err != nil {
		t.Fatal(err)
	}
	far := follower.AppliedIndex() + 10_000
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := m.awaitApplied(ctx, far); err == nil {
		t.Fatalf("index %d reached (applied %d)", far, follower.AppliedIndex())
	}
	busyLeader(t, leaderOf(stores))
	ahead := follower.AppliedIndex() + 3
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.awaitApplied(ctx, ahead); err != nil {
		t.Fatalf("with a leader committing: %v", err)
	}
	m.enter()
	for range 5 {
		if m.step(context.Background()); !m.CutOff() {
			break
		}
	}
	if m.CutOff() {
		t.Fatal("in contact with a busy leader, the node stayed cut off after 5 ticks")
	}
}

// Seed 1's schedule in one node: cut off (minority_mode local), then
// paused, then back in contact with the leader. Within a few ticks it
// is neither cut off nor paused and serves the cluster's answers.
func TestPausedWhileCutOffServesClusterOnceCaughtUp(t *testing.T) {
	stores, follower := seededCluster(t)
	busyLeader(t, leaderOf(stores))
	m, err := NewMinority(follower, MinorityOptions{Mode: MinorityLocal})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m.step(ctx)
	m.enter()
	m.lastTick.Store(int64(m.sinceStart() - 6*time.Second)) // frozen for 6 s
	for range 5 {
		if m.step(ctx); !m.CutOff() && !m.pausedNow() {
			break
		}
	}
	if m.CutOff() || m.pausedNow() {
		t.Fatalf("caught up with a reachable leader, still cut off %v, paused %v after 5 ticks", m.CutOff(), m.pausedNow())
	}
	if _, override := m.Answers(); override {
		t.Error("the node answers its own snapshot, not the cluster's")
	}
}
