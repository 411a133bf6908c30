package testcluster

import (
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
)

// The chaos schedule "site dies, SIGSTOP leader" (seeds 3017, 3024): the
// leader freezes and, before any verdict reaches it, the serving site
// dies. The observers' reports go to the frozen leader and wait; here the
// election also takes longer than a report's deadline (the two running
// nodes cannot reach each other for 4 s, as when a vote splits or a new
// leader loses its lease). A report that did not commit must be made
// again as soon as a new leader is known, not on the next report tick
// (30 s here, so that a report waiting for it fails the test).
func TestFailoverWhileLeaderFrozen(t *testing.T) {
	if testing.Short() {
		t.Skip("freezes a node for 12s")
	}
	timing := controller.Timing{
		HeartbeatTimeout: time.Second, ElectionTimeout: time.Second, LeaderLeaseTimeout: 500 * time.Millisecond,
		CommitTimeout: 50 * time.Millisecond, StaleAfter: 2 * time.Minute, ReportInterval: 30 * time.Second,
	}
	c := New(t, Options{Timing: &timing})
	c.Faults.SetDelay(30 * time.Millisecond)
	old := c.Leader()
	var running []*Member
	for _, m := range c.Members {
		if m != old {
			running = append(running, m)
		}
	}
	frozen := make(chan struct{})
	go func() {
		defer close(frozen)
		c.Freeze(old, 12*time.Second)
	}()
	defer func() { <-frozen }()
	time.Sleep(100 * time.Millisecond) // frozen (Freeze takes 20 ms)
	c.Faults.Cut(running[0].ID)
	c.Member("us-east").Site.Kill()
	time.Sleep(4 * time.Second)
	c.Faults.Heal(running[0].ID)
	healed := time.Now()
	// An election (a follower stands within two heartbeat timeouts, a
	// split vote costs two election timeouts more) and a commit.
	const bound = 5 * time.Second
	for _, m := range running {
		c.WaitAnswer(m, Answers["us-west"], 7*time.Second)
		took := time.Since(healed)
		t.Logf("%s moved off the dead site %s after the heal", m.ID, took.Round(time.Millisecond))
		if took > bound {
			t.Errorf("%s moved off the dead site %s after the heal; want within %s", m.ID, took.Round(time.Millisecond), bound)
		}
	}
}
