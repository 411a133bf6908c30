package testcluster

import (
	"context"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
)

// The chaos lab at 120 ms one way (a 240 ms round trip) found
// `/v1/members` saying a quorum was lost while every write committed:
// the leader probes each member on a connection of its own (the hello
// and the request, four round trips with TLS) and gave it a fixed
// second. Here every message between nodes takes 300 ms one way, so a
// probe takes 1.2 s, with the timing WANTiming gives that latency: the
// quorum is whole, as the leader and a follower report it, for two
// seconds running.
func TestMembersHealthOverSlowLinks(t *testing.T) {
	if testing.Short() {
		t.Skip("a cluster 300 ms apart")
	}
	timing := controller.WANTiming(600 * time.Millisecond)
	timing.ReportInterval = 300 * time.Millisecond
	c := New(t, Options{Timing: &timing})
	leader := c.Leader()
	c.Faults.SetDelay(300 * time.Millisecond)
	var follower *Member
	for _, m := range c.Members {
		if m != leader {
			follower = m
			break
		}
	}
	const want = "3/3 voters up, can lose 1 more"
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	var okSince time.Time
	var last string
	for time.Now().Before(deadline) {
		good := true
		for _, m := range []*Member{leader, follower} {
			_, q := m.Node.Store().MembersHealth(ctx)
			if q.Summary != want {
				good, last = false, m.ID+": "+q.Summary
			}
		}
		switch {
		case !good:
			okSince = time.Time{}
		case okSince.IsZero():
			okSince = time.Now()
		case time.Since(okSince) >= 2*time.Second:
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the quorum was not whole for 2 s running within 20 s at 300 ms one way; last: %s", last)
}
