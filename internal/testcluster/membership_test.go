package testcluster

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/node"
)

// deadAddr is a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func voters(t *testing.T, m *Member) (ids []string, all []controller.MemberInfo) {
	t.Helper()
	all, err := m.Node.Store().Members()
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range all {
		if x.Voter {
			ids = append(ids, x.ID)
		}
	}
	return ids, all
}

func hasEvent(c *Cluster, m *Member, parts ...string) bool {
	for _, e := range c.Events(m) {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(e.Message, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// The 3 a.m. typo (issue 14.1): adding a member at an address where
// nothing listens is refused up front, so the cluster still has three
// voters and survives losing the leader's datacenter.
func TestMembersAddUnreachableRefused(t *testing.T) {
	c := New(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addr := deadAddr(t)
	_, err := c.Member("us-west").Node.Store().Join(ctx, controller.JoinRequest{ID: "edge-2", Addr: addr, Voter: true, Force: true, Author: "tired-op"})
	if !errors.Is(err, controller.ErrUnreachable) {
		t.Fatalf("adding a member where nothing listens: %v, want ErrUnreachable", err)
	}
	if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("the refusal does not say where and that nothing changed: %v", err)
	}
	t.Logf("refused: %v", err)
	if ids, all := voters(t, c.Leader()); len(ids) != 3 || len(all) != 3 {
		t.Fatalf("members after the refused add: %+v", all)
	}
	moveLeader(t, c, "us-east")
	c.KillDC("us-east")
	for _, m := range c.Live() {
		took := c.WaitAnswer(m, expected("us-east"), 15*time.Second)
		t.Logf("%s answers %s %s after the loss", m.ID, expected("us-east"), took.Round(time.Millisecond))
	}
	c.CheckInvariants()
}

// A reachable new member joins as a non-voter and the leader promotes it
// once it has caught up; a 4th voter needs force and says what it costs;
// the events name the author.
func TestMembersJoinThenPromoted(t *testing.T) {
	c := New(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n := c.addNode(t, "us-east-2", "us-east")
	via := c.Member("eu-west").Node.Store() // a follower or the leader: either forwards
	req := controller.JoinRequest{ID: n.ID, Addr: n.cfg.RaftAddr, Voter: true, Author: "alice"}
	_, err := via.Join(ctx, req)
	if !errors.Is(err, controller.ErrNeedsForce) {
		t.Fatalf("a 4th voter without force: %v, want ErrNeedsForce", err)
	}
	if want := "3 voters tolerate 1 failure; 4 voters still tolerate 1 failure"; !strings.Contains(err.Error(), want) {
		t.Errorf("the refusal does not say what it costs (%q): %v", want, err)
	}
	req.Force = true
	msg, err := via.Join(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(msg)
	ids, all := voters(t, c.Leader())
	if len(ids) != 3 || len(all) != 4 {
		t.Fatalf("right after the add: %d voters of %d members, want it a non-voter: %+v", len(ids), len(all), all)
	}
	if _, ok := c.Leader().Node.Store().FSM().View().Observer("us-east-2"); ok {
		t.Error("a joining non-voter counts among the observers")
	}
	start := time.Now()
	for {
		if ids, _ := voters(t, c.Leader()); len(ids) == 4 {
			break
		}
		if time.Since(start) > 15*time.Second {
			t.Fatal("the new member was not promoted within 15s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("promoted %s after it joined", time.Since(start).Round(time.Millisecond))
	c.WaitAnswer(n, Answers["us-east"], 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for !observes(c, "us-east-2") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !observes(c, "us-east-2") {
		t.Error("the promoted voter does not report its verdicts")
	}

	// A member added --nonvoter stays one and never shows as a stale
	// observer.
	edge := c.addNode(t, "us-west-2", "us-west")
	if _, err := via.Join(ctx, controller.JoinRequest{ID: edge.ID, Addr: edge.cfg.RaftAddr, Author: "alice"}); err != nil {
		t.Fatal(err)
	}
	c.WaitAnswer(edge, Answers["us-east"], 10*time.Second)
	time.Sleep(2 * Timing.StaleAfter)
	if ids, _ := voters(t, c.Leader()); len(ids) != 4 {
		t.Errorf("voters after a --nonvoter add: %v", ids)
	}
	if hasEvent(c, c.Leader(), "observer us-west-2") {
		t.Error("the non-voter shows as an observer in the events")
	}
	if _, ok := c.Leader().Node.Store().FSM().View().Observer("us-west-2"); ok {
		t.Error("the non-voter holds an observer record")
	}
	deadline = time.Now().Add(5 * time.Second)
	for !hasEvent(c, c.Leader(), "us-east-2 promoted to voter") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range [][]string{{"us-east-2", "added by alice", "non-voter", "forced"}, {"us-east-2 promoted to voter"}, {"is the leader (term"}} {
		if !hasEvent(c, c.Leader(), want...) {
			t.Errorf("no event with %q in %+v", want, c.Events(c.Leader()))
		}
	}
	c.CheckInvariants()
}

// Removing a live voter down to two is refused without force and says
// what it costs; a dead voter's removal costs nothing and is allowed.
// A killed node shows as unreachable, not as a follower, and the quorum
// line counts it out.
func TestMembersRemoveGuarded(t *testing.T) {
	c := New(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	leader := c.Leader()
	victim := c.Member("us-east")
	if victim == leader {
		victim = c.Member("us-west")
	}
	_, err := leader.Node.Store().Leave(ctx, controller.LeaveRequest{ID: victim.ID, Author: "bob"})
	if !errors.Is(err, controller.ErrNeedsForce) {
		t.Fatalf("removing a live voter down to two: %v, want ErrNeedsForce", err)
	}
	if want := "3 voters tolerate 1 failure; 2 voters tolerate none"; !strings.Contains(err.Error(), want) {
		t.Errorf("the refusal does not say what it costs (%q): %v", want, err)
	}
	if ids, _ := voters(t, leader); len(ids) != 3 {
		t.Fatalf("voters after the refused remove: %v", ids)
	}

	// eu-west dies (its node with it) unless it leads; then us-west.
	dead := c.Member("eu-west")
	if dead == leader {
		dead = victim
	}
	c.KillDC(dead.DC)
	leader = c.Leader()
	var q controller.Quorum
	var members []controller.MemberInfo
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		members, q = c.Live()[0].Node.Store().MembersHealth(ctx)
		if q.Summary == "2/3 voters up, can lose 0 more" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if q.Summary != "2/3 voters up, can lose 0 more" {
		t.Fatalf("quorum after a node died: %q", q.Summary)
	}
	for _, m := range members {
		if m.ID == dead.ID && (m.Role != "unreachable" || m.Reachability != "unreachable") {
			t.Errorf("the killed node shows as %s (%s)", m.Role, m.Reachability)
		}
		if m.ID != dead.ID && m.Reachability != "reachable" {
			t.Errorf("%s shows as %s", m.ID, m.Reachability)
		}
	}
	msg, err := leader.Node.Store().Leave(ctx, controller.LeaveRequest{ID: dead.ID, Author: "bob"})
	if err != nil {
		t.Fatalf("removing the dead voter: %v", err)
	}
	t.Log(msg)
	if ids, _ := voters(t, leader); len(ids) != 2 {
		t.Fatalf("voters after removing the dead one: %v", ids)
	}
	if !hasEvent(c, leader, "member "+dead.ID+" removed by bob") {
		t.Error("the removal's event does not name its author")
	}
	c.CheckInvariants()
}

// ready is m's /v1/ready status code.
func ready(t *testing.T, m *Member) int {
	t.Helper()
	resp, err := http.Get("http://" + m.Node.APIAddr() + "/v1/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitReady waits until m's /v1/ready answers code and says how long.
func waitReady(t *testing.T, m *Member, code int, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for ready(t, m) != code {
		if time.Since(start) > timeout {
			t.Fatalf("%s /v1/ready is not %d after %s", m.ID, code, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func statusPage(t *testing.T, m *Member) string {
	t.Helper()
	resp, err := http.Get("http://" + m.Node.StatusAddr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func minorityOf(t *testing.T, m *Member) controller.MinorityStatus {
	t.Helper()
	return minorityAt(t, m, "/v1/status")
}

// minorityAt reads the minority section of the reply at path.
func minorityAt(t *testing.T, m *Member, path string) controller.MinorityStatus {
	t.Helper()
	resp, err := http.Get("http://" + m.Node.APIAddr() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Minority controller.MinorityStatus `json:"minority"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.Minority
}

// The cut-off node of issue 14.3: partitioned, with site 1 dead, it
// moves off site 1 on its own checks (minority_mode local), reports not
// ready and says so on its status page; healed, it is ready again and
// answers with the cluster.
func TestMinorityLocalMovesOffDeadSite(t *testing.T) {
	c := New(t, Options{})
	cut := c.Member("eu-west")
	c.Faults.Cut(cut.ID)
	took := waitReady(t, cut, http.StatusServiceUnavailable, 10*time.Second)
	t.Logf("cut-off node not ready %s after the cut", took.Round(time.Millisecond))
	if page := statusPage(t, cut); !strings.Contains(page, "This node is cut off; information may be out of date.") {
		t.Errorf("the cut-off node's status page has no banner:\n%.600s", page)
	}
	if m := minorityOf(t, cut); !m.CutOff || m.Mode != controller.MinorityLocal {
		t.Errorf("status says %+v", m)
	}
	if m := minorityAt(t, cut, "/v1/members"); !m.CutOff {
		t.Errorf("members says %+v: the members table of a cut-off node is its last view", m)
	}
	if _, body, _ := get(t, cut, "/metrics"); !strings.Contains(body, "\ndetour_minority_mode 1\n") {
		t.Error("/metrics does not say detour_minority_mode 1 on the cut-off node")
	}
	for _, m := range c.Members {
		if m != cut && ready(t, m) != http.StatusOK {
			t.Errorf("%s of the majority is not ready", m.ID)
		}
	}

	c.Member("us-east").Site.SetUp(false)
	for _, m := range c.Members {
		took := c.WaitAnswer(m, expected("us-east"), 15*time.Second)
		t.Logf("%s answers %s %s after site 1 died", m.ID, expected("us-east"), took.Round(time.Millisecond))
	}
	// Its status names what its DNS server answers, off the dead site.
	if m := minorityOf(t, cut); len(m.Answers) == 0 || strings.Join(m.Answers[0].Answers, ",") != expected("us-east") {
		t.Errorf("the cut-off node's status gives its own answers as %+v, want %s first", m.Answers, expected("us-east"))
	}

	c.Faults.Heal(cut.ID)
	took = waitReady(t, cut, http.StatusOK, 15*time.Second)
	t.Logf("healed node ready again %s after the heal", took.Round(time.Millisecond))
	if got := c.Answer(cut); got != expected("us-east") {
		t.Errorf("healed node answers %s, want %s", got, expected("us-east"))
	}
	if page := statusPage(t, cut); strings.Contains(page, "cut off") {
		t.Error("the banner stayed after the heal")
	}
	if _, body, _ := get(t, cut, "/metrics"); !strings.Contains(body, "\ndetour_minority_mode 0\n") || !strings.Contains(body, "\ndetour_minority_local_answers_total ") {
		t.Error("/metrics after the heal: no detour_minority_mode 0 or no count of local answers")
	}
	c.CheckInvariants()
}

// In minority_mode servfail a cut-off node answers SERVFAIL, so
// resolvers ask another nameserver; healed, it answers again.
func TestMinorityServfail(t *testing.T) {
	c := New(t, Options{Configure: func(_ *Member, cfg *node.Config) { cfg.MinorityMode = controller.MinorityServfail }})
	cut := c.Member("us-west")
	c.Faults.Cut(cut.ID)
	waitReady(t, cut, http.StatusServiceUnavailable, 10*time.Second)
	if got := c.Answer(cut); got != "SERVFAIL" {
		t.Errorf("cut-off node in servfail mode answers %s", got)
	}
	for _, m := range c.Members {
		if m != cut && c.Answer(m) != Answers["us-east"] {
			t.Errorf("%s of the majority answers %s", m.ID, c.Answer(m))
		}
	}
	c.Faults.Heal(cut.ID)
	took := waitReady(t, cut, http.StatusOK, 15*time.Second)
	t.Logf("healed node ready again %s after the heal", took.Round(time.Millisecond))
	if got := c.Answer(cut); got != Answers["us-east"] {
		t.Errorf("healed node answers %s", got)
	}
}

// observes reports whether the leader holds fresh verdicts of id.
func observes(c *Cluster, id string) bool {
	view := c.Leader().Node.Store().FSM().View()
	o, ok := view.Observer(id)
	return ok && o.Fresh && len(view.Verdicts(id)) > 0
}

// In minority_mode last a cut-off node keeps the cluster's last answers
// (the behaviour before minority mode), but still reports not ready.
func TestMinorityLastKeepsLastAnswers(t *testing.T) {
	c := New(t, Options{Configure: func(_ *Member, cfg *node.Config) { cfg.MinorityMode = controller.MinorityLast }})
	cut := c.Member("eu-west")
	c.Faults.Cut(cut.ID)
	waitReady(t, cut, http.StatusServiceUnavailable, 10*time.Second)
	c.Member("us-east").Site.SetUp(false)
	for _, m := range c.Members {
		if m != cut {
			c.WaitAnswer(m, expected("us-east"), 15*time.Second)
		}
	}
	// Long enough for the cut-off node's own checks to see it down.
	time.Sleep(1500 * time.Millisecond)
	if got := c.Answer(cut); got != Answers["us-east"] {
		t.Errorf("cut-off node in mode last answers %s, want the last answer %s", got, Answers["us-east"])
	}
	if m := minorityOf(t, cut); !m.CutOff || m.Mode != controller.MinorityLast {
		t.Errorf("status says %+v", m)
	}
	c.Faults.Heal(cut.ID)
	waitReady(t, cut, http.StatusOK, 15*time.Second)
	c.WaitAnswer(cut, expected("us-east"), 2*time.Second)
}
