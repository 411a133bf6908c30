package testcluster

import (
	"net/http"
	"strings"
	"testing"
	"time"
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
