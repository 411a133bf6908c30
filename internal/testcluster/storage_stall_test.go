package testcluster

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
)

// A follower whose disk is full hears the leader's heartbeats but takes
// none of its entries: it kept answering a site that died after its disk
// filled for as long as the disk stayed full (chaos seed 5001). Now, once
// its log writes have failed for minority_after, it answers by its
// minority mode (local: its own checks, which move off the dead site),
// still not ready for its storage; freed, it catches up and is ready.
func TestFullDiskFollowerMovesOffDeadSite(t *testing.T) {
	c, full := diskCluster(t)
	leader := c.Leader()
	f := c.Member("us-west")
	if f == leader {
		f = c.Member("eu-west")
	}
	full[f.ID].Store(true)
	_, body := waitReadyCode(t, f, http.StatusServiceUnavailable, 10*time.Second)
	if !strings.Contains(body, "cannot write its Raft log") {
		t.Errorf("/v1/ready of the follower with a full disk: %s; want the storage reason", body)
	}
	c.Member("us-east").Site.SetUp(false)
	for _, m := range c.Members {
		took := c.WaitAnswer(m, expected("us-east"), 15*time.Second)
		t.Logf("%s answers %s %s after site 1 died", m.ID, expected("us-east"), took.Round(time.Millisecond))
	}
	if _, body, _ := get(t, f, "/metrics"); !strings.Contains(body, "\ndetour_minority_mode 1\n") {
		t.Error("/metrics of the follower with a full disk does not say detour_minority_mode 1")
	}
	full[f.ID].Store(false)
	waitReadyCode(t, f, http.StatusOK, 15*time.Second)
	if got := c.Answer(f); got != expected("us-east") {
		t.Errorf("the follower after its disk was freed answers %s, want %s", got, expected("us-east"))
	}
	c.CheckInvariants()
}

// A leader whose disk is full steps down, but its log is as long as
// anyone's: it won the next election, failed its first commit, stepped
// down, and again, so the cluster had no working leader while its disk
// was full and a dead site stayed in every node's answers (chaos seed
// 5002). Now it does not stand for election while it cannot write, even
// when it hears no leader: the others elect a leader among themselves and
// fail over.
func TestFullDiskLeaderStandsAside(t *testing.T) {
	c, full := diskCluster(t)
	old := c.Leader()
	full[old.ID].Store(true)
	testutil.Eventually(t, "a leader other than the one with a full disk", 15*time.Second, func() bool {
		l := c.Leader()
		return l != nil && l != old
	})
	// Cut off, it hears no leader: a node that may stand would be
	// elected within two heartbeat timeouts (500 ms here) once back.
	// It notices the silence but sends no pre-vote or vote, so it never
	// leads, and the same leader leads after the heal.
	before := c.Leader()
	c.Faults.Cut(old.ID)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if st, _ := old.Node.Store().RaftState(); st == "Leader" {
			t.Fatalf("%s, whose disk is full, leads", old.ID)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.Faults.Heal(old.ID)
	time.Sleep(time.Second)
	if l := c.Leader(); l != before {
		t.Errorf("after the heal the leader is %v, was %s: the node with a full disk disrupted it", l, before.ID)
	}
	c.Member("us-east").Site.SetUp(false)
	for _, m := range c.Members {
		took := c.WaitAnswer(m, expected("us-east"), 15*time.Second)
		t.Logf("%s answers %s %s after us-east's site died", m.ID, expected("us-east"), took.Round(time.Millisecond))
	}
	full[old.ID].Store(false)
	waitReadyCode(t, old, http.StatusOK, 15*time.Second)
	c.CheckInvariants()
}

// A follower whose disk is full must not block the others' election
// (chaos seed 10122): it stood aside by waiting an hour-long heartbeat
// timeout, so it never noticed its leader go silent and refused the
// third node's pre-vote "since we have a leader" until it could write
// again. Now it notices, sends no pre-vote of its own, and grants the
// third node's: with the leader cut off, the third node leads within a
// few heartbeat timeouts.
func TestFullDiskFollowerDoesNotBlockElection(t *testing.T) {
	c, full := diskCluster(t)
	leader := c.Leader()
	var f, third *Member
	for _, m := range c.Members {
		switch {
		case m == leader:
		case f == nil:
			f = m
		default:
			third = m
		}
	}
	full[f.ID].Store(true)
	waitReadyCode(t, f, http.StatusServiceUnavailable, 10*time.Second)
	c.Faults.Cut(leader.ID)
	defer c.Faults.Heal(leader.ID)
	testutil.Eventually(t, third.ID+" leading while "+leader.ID+" is cut off and "+f.ID+"'s disk is full", 5*time.Second, func() bool {
		st, _ := third.Node.Store().RaftState()
		return st == "Leader"
	})
	if st, _ := f.Node.Store().RaftState(); st == "Leader" {
		t.Errorf("%s, whose disk is full, leads", f.ID)
	}
	c.Faults.Heal(leader.ID)
	full[f.ID].Store(false)
	waitReadyCode(t, f, http.StatusOK, 15*time.Second)
}
