package controller

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// probe is a leader task that counts the copies of it running on each
// store and the terms it saw start.
type probe struct {
	mu      sync.Mutex
	running map[*Store]int
	starts  map[*Store]int
}

func newProbe() *probe { return &probe{running: map[*Store]int{}, starts: map[*Store]int{}} }

func (p *probe) task(s *Store) LeaderTask {
	return func(ctx context.Context) error {
		p.mu.Lock()
		p.running[s]++
		p.starts[s]++
		p.mu.Unlock()
		<-ctx.Done()
		p.mu.Lock()
		p.running[s]--
		p.mu.Unlock()
		return nil
	}
}

func (p *probe) counts(s *Store) (running, starts int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running[s], p.starts[s]
}

func leaderOf(stores []*Store) *Store {
	for _, s := range stores {
		if s.IsLeader() {
			return s
		}
	}
	return nil
}

// A leader task runs on the leader alone, from after the term's Barrier;
// it stops (its function returned) when leadership moves, starts on the
// new leader, and stops before Close returns.
func TestLeaderTasksFollowLeadership(t *testing.T) {
	stores, _ := seededCluster(t)
	p := newProbe()
	for _, s := range stores {
		s.OnLeader("probe", p.task(s)) // registered during a term: starts at once on the leader
	}
	first := leaderOf(stores)
	if first == nil {
		t.Fatal("no leader")
	}
	testutil.Eventually(t, "the probe on the leader", 5*time.Second, func() bool { r, _ := p.counts(first); return r == 1 })
	for _, s := range stores {
		if r, _ := p.counts(s); s != first && r != 0 {
			t.Fatalf("the probe runs on follower %s", s.ID())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := first.StepDown(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the probe to stop on the old leader", 5*time.Second, func() bool { r, _ := p.counts(first); return r == 0 })
	var second *Store
	testutil.Eventually(t, "the probe on a new leader", 10*time.Second, func() bool {
		second = leaderOf(stores)
		if second == nil || second == first {
			return false
		}
		r, _ := p.counts(second)
		return r == 1
	})
	if second.leaderTerms() == 0 {
		t.Error("the new leader counts no term")
	}
	// Leadership comes back: the task starts again, in a new term.
	before := first.leaderTerms()
	if err := second.raft.LeadershipTransferToServer(raft.ServerID(first.ID()), raft.ServerAddress(first.Addr())).Error(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the probe again on the first node", 10*time.Second, func() bool { r, n := p.counts(first); return r == 1 && n == 2 })
	if first.leaderTerms() <= before {
		t.Errorf("terms led by the first node: %d, before %d", first.leaderTerms(), before)
	}
	testutil.Eventually(t, "the probe to stop on the second leader", 5*time.Second, func() bool { r, _ := p.counts(second); return r == 0 })
	// Close waits for the tasks: none runs once it returned.
	first.Close()
	if r, _ := p.counts(first); r != 0 {
		t.Errorf("%d probes still running after Close returned", r)
	}
}

// A task that panics or fails is restarted with backoff; one that
// returns nil stays done for the term.
func TestLeaderTaskRestartsAfterFailure(t *testing.T) {
	stores := openCluster(t, 1, t.TempDir())
	s := stores[0]
	testutil.Eventually(t, "leader", 10*time.Second, s.IsLeader)
	var calls, done atomic.Int32
	running := make(chan struct{})
	s.OnLeader("flaky", func(ctx context.Context) error {
		switch calls.Add(1) {
		case 1:
			panic("first run panics")
		case 2:
			return errors.New("second run fails")
		}
		close(running)
		<-ctx.Done()
		return nil
	})
	s.OnLeader("once", func(ctx context.Context) error { done.Add(1); return nil })
	select {
	case <-running:
	case <-time.After(10 * time.Second):
		t.Fatalf("the task did not run a third time (calls: %d)", calls.Load())
	}
	time.Sleep(3 * taskMinBackoff) // a task that ended fine is not run again
	if n := done.Load(); n != 1 {
		t.Errorf("a task that returned nil ran %d times, want 1", n)
	}
	s.Close()
	if n := calls.Load(); n != 3 {
		t.Errorf("the failing task ran %d times, want 3", n)
	}
	// Close waited for every goroutine of the leader's terms.
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, fn := range []string{"controller.runTask", "controller.(*leadership).manage", "controller.(*leadership).drain", "controller.(*leadership).begin"} {
		if strings.Contains(stacks, fn) {
			t.Errorf("%s still running after Close", fn)
		}
	}
}
