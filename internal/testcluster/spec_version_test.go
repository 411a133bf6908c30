package testcluster

import (
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
)

// Seeds 3028, 4002, 4006: a set_spec whose text is the one in force
// makes the next version, and its reply must say so, even when the
// proposing node has not applied the staging yet (a follower a round
// trip behind its leader) and finds the text in force already. The
// client passes the version it got as if_version next: that must not
// conflict.
func TestSpecApplyReturnsTheVersionItMade(t *testing.T) {
	c := New(t, Options{})
	c.Faults.SetDelay(20 * time.Millisecond) // the follower applies a round trip after the leader
	leader := c.Leader()
	var follower *Member
	for _, m := range c.Members {
		if m != leader {
			follower = m
			break
		}
	}
	sp, _ := follower.Node.Store().FSM().Spec()
	text, err := sp.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		// The version in force: the follower has applied its last
		// reply's; the leader's state machine may trail it (it can
		// still be compiling the spec it activates).
		_, before := leader.Node.Store().FSM().Spec()
		if _, v := follower.Node.Store().FSM().Spec(); v > before {
			before = v
		}
		ifv := before
		res, err := c.ProposeResult(follower, &controller.Command{Type: controller.CmdSetSpec,
			Spec: &controller.SetSpec{YAML: text, IfVersion: &ifv}})
		if err != nil {
			t.Fatalf("apply %d over version %d: %v", i, before, err)
		}
		if res.SpecVersion != before+1 {
			t.Errorf("apply %d over version %d replied version %d; want %d, the version it made", i, before, res.SpecVersion, before+1)
		}
		if _, v := follower.Node.Store().FSM().Spec(); v < res.SpecVersion {
			t.Errorf("apply %d replied version %d before it was in force on the node that took it (%d)", i, res.SpecVersion, v)
		}
	}
}
