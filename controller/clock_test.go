package controller

import (
	"context"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
)

// The leader's clock never goes back, not even when a later term starts
// from an earlier committed time, and answers only for its own term.
func TestLeaderClockNeverGoesBack(t *testing.T) {
	var c leaderClock
	if _, ok := c.now(1); ok {
		t.Fatal("a clock never begun tells the time")
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.begin(1, base)
	t1, ok := c.now(1)
	if !ok || t1.Before(base) || t1.Sub(base) > time.Second {
		t.Fatalf("term 1 at %s (ok %v), want just after %s", t1, ok, base)
	}
	if _, ok := c.now(2); ok {
		t.Fatal("the clock of term 1 tells the time of term 2")
	}
	c.begin(2, base.Add(-time.Hour))
	if t2, _ := c.now(2); t2.Before(t1) {
		t.Fatalf("term 2 starts at %s, before term 1's last stamp %s", t2, t1)
	}
}

// Whatever time a proposer puts in a command, the leader overwrites it:
// a command from the year 2100 leaves the state's clock at the present.
func TestLeaderStampsOverProposer(t *testing.T) {
	s := openCluster(t, 1, t.TempDir())[0]
	testutil.Eventually(t, "seeded", 10*time.Second, func() bool { return wwwAnswer(s) != "" })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	future := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	err := s.raftPropose(ctx, &Command{Type: CmdObserverReport, Time: future, Report: &ObserverReport{Observer: "n0"}})
	if err != nil {
		t.Fatal(err)
	}
	var now, last time.Time
	s.FSM().read(func(st *State) { now, last = st.Now, st.Observers["n0"].LastReport })
	if off := time.Until(now).Abs(); off > time.Minute || !last.Equal(now) {
		t.Errorf("state time %s (report at %s) after a command stamped %s: want the present", now, last, future)
	}
}
