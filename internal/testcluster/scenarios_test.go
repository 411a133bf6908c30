package testcluster

import (
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/spec"
)

// expected is the answer when the given datacenters are lost.
func expected(lost ...string) string {
	for _, dc := range Datacenters {
		if !contains(lost, dc) {
			return Answers[dc]
		}
	}
	return Fallback
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The datacenter holding the leader dies: its node and its site at once.
// The survivors elect a leader, agree the site is down, and answer from
// the next datacenter.
func TestLeaderDatacenterLost(t *testing.T) {
	c := New(t, Options{})
	// Put the leader in us-east, the first datacenter in failover order,
	// so losing it must move traffic.
	moveLeader(t, c, "us-east")
	c.KillDC("us-east")
	for _, m := range c.Live() {
		took := c.WaitAnswer(m, expected("us-east"), 15*time.Second)
		t.Logf("%s answers %s %s after the loss", m.ID, expected("us-east"), took.Round(time.Millisecond))
	}
	c.CheckInvariants()
}

// A follower's datacenter dies: the leader (moved to us-west) keeps
// deciding and traffic leaves us-east.
func TestFollowerDatacenterLost(t *testing.T) {
	c := New(t, Options{})
	moveLeader(t, c, "us-west")
	if c.Leader().DC == "us-east" {
		t.Skip("the leader stayed in us-east; TestLeaderDatacenterLost covers that")
	}
	c.KillDC("us-east")
	for _, m := range c.Live() {
		took := c.WaitAnswer(m, expected("us-east"), 15*time.Second)
		t.Logf("%s answers %s %s after the loss", m.ID, expected("us-east"), took.Round(time.Millisecond))
	}
	c.CheckInvariants()
}

// One observer alone sees a site down (its own path is broken): no
// failover. When a second one agrees, traffic moves.
func TestLoneObserverDoesNotMoveTraffic(t *testing.T) {
	c := New(t, Options{})
	east := c.Member("us-east")
	loner := c.Member("eu-west")
	east.Site.BlockFrom(loner.SourceIP, true)
	// Long enough for the loner's verdict to commit many times over.
	time.Sleep(1500 * time.Millisecond)
	for _, m := range c.Live() {
		if got := c.Answer(m); got != Answers["us-east"] {
			t.Fatalf("%s answers %s after one observer lost its path to us-east", m.ID, got)
		}
	}
	seen := false
	for _, e := range c.Events(east) {
		seen = seen || strings.Contains(e.Message, "is down")
	}
	if seen {
		t.Errorf("an endpoint was declared down by one observer: %v", c.Events(east))
	}
	east.Site.BlockFrom(c.Member("us-west").SourceIP, true)
	for _, m := range c.Live() {
		c.WaitAnswer(m, Answers["us-west"], 10*time.Second)
	}
	c.CheckInvariants()
}

// One node is cut off: the majority keeps deciding, the cut-off node
// commits nothing and keeps serving its last answers; healed, it catches
// up.
func TestPartitionedNode(t *testing.T) {
	c := New(t, Options{})
	cut := c.Member("eu-west")
	c.Faults.Cut(cut.ID)
	// Entries the node received just before the cut may still be
	// applying: count from once its index has held still a while.
	before := cut.Node.Store().AppliedIndex()
	for deadline, still := time.Now().Add(3*time.Second), time.Now(); time.Since(still) < 300*time.Millisecond && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		if idx := cut.Node.Store().AppliedIndex(); idx != before {
			before, still = idx, time.Now()
		}
	}
	c.Member("us-east").Site.SetUp(false)
	for _, m := range []*Member{c.Member("us-east"), c.Member("us-west")} {
		c.WaitAnswer(m, Answers["us-west"], 10*time.Second)
	}
	if got := c.Answer(cut); got != Answers["us-east"] {
		t.Errorf("the cut-off node answers %s, want its last answer %s", got, Answers["us-east"])
	}
	if after := cut.Node.Store().AppliedIndex(); after != before {
		t.Errorf("the cut-off node applied entries %d..%d while alone", before, after)
	}
	c.Faults.Heal(cut.ID)
	c.WaitAnswer(cut, Answers["us-west"], 15*time.Second)
	c.CheckInvariants()
}

// A site that flaps on every probe never changes the answer (rise 2,
// fall 2).
func TestFlappingSiteHolds(t *testing.T) {
	c := New(t, Options{})
	east := c.Member("us-east")
	east.Site.Flap(true)
	time.Sleep(2 * time.Second)
	for _, m := range c.Live() {
		if got := c.Answer(m); got != Answers["us-east"] {
			t.Fatalf("%s answers %s with a flapping site", m.ID, got)
		}
	}
	for _, e := range c.Events(east) {
		if e.Kind == "record" && strings.Contains(e.Message, "was 192.0.2.10") {
			t.Errorf("the answer moved: %s", e.Message)
		}
	}
	east.Site.Flap(false)
	c.CheckInvariants()
}

// An override survives a leader change and expires on time.
func TestOverrideSurvivesLeaderChangeAndExpires(t *testing.T) {
	c := New(t, Options{})
	leader := c.Leader()
	expires := time.Now().Add(4 * time.Second)
	err := c.Propose(leader, &controller.Command{Type: controller.CmdSetOverride, Override: &controller.Override{
		Kind: controller.OverrideDrain, Target: "us-east", Reason: "maintenance", Author: "alice", Expires: expires}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Live() {
		c.WaitAnswer(m, Answers["us-west"], 5*time.Second)
	}
	c.StopNode(leader)
	next := c.Leader()
	if next == leader {
		t.Fatal("no new leader")
	}
	for _, m := range c.Live() {
		if got := c.Answer(m); got != Answers["us-west"] {
			t.Fatalf("after the leader change %s answers %s: the drain was lost", m.ID, got)
		}
	}
	for _, m := range c.Live() {
		c.WaitAnswer(m, Answers["us-east"], time.Until(expires)+5*time.Second)
	}
	if late := time.Since(expires); late > 2*time.Second {
		t.Errorf("the drain expired %s late", late)
	}
	c.CheckInvariants()
}

// All three nodes restart and come back with every override and event.
func TestFullRestartKeepsState(t *testing.T) {
	c := New(t, Options{})
	leader := c.Leader()
	if err := c.Propose(leader, &controller.Command{Type: controller.CmdSetOverride, Override: &controller.Override{
		Kind: controller.OverridePin, Record: "www.example.test", Pool: "web-eu-west", Reason: "testing eu", Author: "bob"}}); err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Live() {
		c.WaitAnswer(m, Answers["eu-west"], 5*time.Second)
	}
	c.CheckInvariants()
	before := c.Events(leader)
	for _, m := range c.Members {
		c.StopNode(m)
	}
	for _, m := range c.Members {
		c.Restart(m, nil)
	}
	for _, m := range c.Live() {
		c.WaitAnswer(m, Answers["eu-west"], 20*time.Second)
	}
	after := c.Events(c.Leader())
	if len(after) < len(before) {
		t.Fatalf("events lost across the restart: %d before, %d after", len(before), len(after))
	}
	for i := range before {
		if after[i] != before[i] {
			t.Fatalf("event %d changed across the restart: %v -> %v", i, before[i], after[i])
		}
	}
	c.CheckInvariants()
}

// A spec applied mid-failover takes effect atomically: the new pool order
// answers at once, the health engine follows without a restart.
func TestSpecApplyMidFailover(t *testing.T) {
	c := New(t, Options{})
	c.Member("us-east").Site.SetUp(false)
	for _, m := range c.Live() {
		c.WaitAnswer(m, Answers["us-west"], 10*time.Second)
	}
	// eu-west first now.
	text := strings.Replace(c.Spec, "pools: [web-us-east, web-us-west, web-eu-west]", "pools: [web-eu-west, web-us-west, web-us-east]", 1)
	s, err := spec.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	yaml, _ := s.Marshal()
	if err := c.Propose(c.Member("us-west"), &controller.Command{Type: controller.CmdSetSpec, Spec: &controller.SetSpec{YAML: yaml, Author: "test"}}); err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Live() {
		c.WaitAnswer(m, Answers["eu-west"], 5*time.Second)
	}
	// A bad spec changes nothing.
	if err := c.Propose(c.Leader(), &controller.Command{Type: controller.CmdSetSpec, Spec: &controller.SetSpec{YAML: []byte("zones: []\n")}}); err == nil {
		t.Fatal("an invalid spec was accepted")
	}
	for _, m := range c.Live() {
		if got := c.Answer(m); got != Answers["eu-west"] {
			t.Errorf("after a refused spec %s answers %s", m.ID, got)
		}
	}
	c.CheckInvariants()
}

func moveLeader(t *testing.T, c *Cluster, dc string) {
	t.Helper()
	for i := 0; i < 10; i++ {
		l := c.Leader()
		if l.DC == dc {
			return
		}
		_ = l.Node.Store().StepDown(t.Context())
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("could not move the leader to %s; losing %s anyway", dc, c.Leader().DC)
}
