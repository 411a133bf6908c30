package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

var fastTiming = Timing{
	HeartbeatTimeout:   300 * time.Millisecond,
	ElectionTimeout:    300 * time.Millisecond,
	LeaderLeaseTimeout: 150 * time.Millisecond,
	CommitTimeout:      10 * time.Millisecond,
	StaleAfter:         1500 * time.Millisecond,
	ReportInterval:     300 * time.Millisecond,
}

func contractSpec(t testing.TB) *spec.Spec {
	t.Helper()
	s, err := spec.Load("../examples/contract/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openCluster starts n stores on loopback with a shared data root.
func openCluster(t *testing.T, n int, root string) []*Store {
	t.Helper()
	var lns []net.Listener
	var peers []Peer
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		peers = append(peers, Peer{ID: fmt.Sprintf("n%d", i), Address: ln.Addr().String()})
	}
	var stores []*Store
	for i := 0; i < n; i++ {
		s, err := OpenStore(StoreConfig{
			NodeID: peers[i].ID, Datacenter: fmt.Sprintf("dc%d", i), RaftAddr: peers[i].Address,
			DataDir: filepath.Join(root, peers[i].ID), Peers: peers, Listener: lns[i],
			Timing: fastTiming, Seed: contractSpec(t), Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
		t.Cleanup(func() { s.Close() })
	}
	return stores
}

// seededCluster opens a 3-node cluster, waits until every node answers
// from the seed spec, and returns the nodes and one follower.
func seededCluster(t *testing.T) (stores []*Store, follower *Store) {
	t.Helper()
	stores = openCluster(t, 3, t.TempDir())
	for _, s := range stores {
		testutil.Eventually(t, "seeded", 10*time.Second, func() bool { return wwwAnswer(s) == "192.0.2.10" })
	}
	for _, s := range stores {
		if !s.IsLeader() {
			follower = s
		}
	}
	return stores, follower
}

func wwwAnswer(s *Store) string {
	snap := s.FSM().Answers()
	if snap == nil {
		return ""
	}
	m := snap.Lookup("www.example.test.", dns.TypeA)
	if len(m.Answer) == 0 {
		return "none"
	}
	return m.Answer[0].(*dns.A).A.String()
}

func report(t *testing.T, s *Store, observer, pool, addr string, up bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := s.Propose(ctx, &Command{Type: CmdObserverReport, Report: &ObserverReport{Observer: observer,
		Changes: []VerdictChange{{Pool: pool, Address: addr, Up: up, Reason: "test"}}}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestClusterConsensusAndLeaderLoss(t *testing.T) {
	stores := openCluster(t, 3, t.TempDir())
	for _, s := range stores {
		testutil.Eventually(t, "seeded answers on "+s.ID(), 10*time.Second, func() bool { return wwwAnswer(s) == "192.0.2.10" })
	}
	testutil.Eventually(t, "three members registered", 10*time.Second, func() bool {
		n := 0
		stores[0].FSM().read(func(st *State) { n = len(st.Members) })
		return n == 3
	})
	// One observer alone sees us-east down: no failover.
	report(t, stores[1], "n1", "web-us-east", "192.0.2.10", false)
	time.Sleep(200 * time.Millisecond)
	for _, s := range stores {
		if got := wwwAnswer(s); got != "192.0.2.10" {
			t.Fatalf("%s answers %s after one observer's down vote", s.ID(), got)
		}
	}
	// A second one agrees: majority, failover everywhere.
	report(t, stores[2], "n2", "web-us-east", "192.0.2.10", false)
	for _, s := range stores {
		testutil.Eventually(t, "failover on "+s.ID(), 5*time.Second, func() bool { return wwwAnswer(s) == "198.51.100.10" })
	}
	// Kill the leader; the others elect a new one and keep deciding.
	var leader int
	for i, s := range stores {
		if s.IsLeader() {
			leader = i
		}
	}
	stores[leader].Close()
	var rest []*Store
	for i, s := range stores {
		if i != leader {
			rest = append(rest, s)
		}
	}
	testutil.Eventually(t, "a new leader", 10*time.Second, func() bool { return rest[0].IsLeader() || rest[1].IsLeader() })
	for _, s := range rest {
		report(t, s, s.ID(), "web-us-west", "198.51.100.10", false)
	}
	for _, s := range rest {
		testutil.Eventually(t, "second failover on "+s.ID(), 5*time.Second, func() bool { return wwwAnswer(s) == "203.0.113.10" })
	}
	// Writes from a follower are forwarded; bad ones are refused whole.
	follower := rest[0]
	if follower.IsLeader() {
		follower = rest[1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := follower.Propose(ctx, &Command{Type: CmdSetOverride, Override: &Override{Kind: OverrideDrain, Target: "nowhere", Reason: "x"}})
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("drain of an unknown target: %v, want ErrRejected", err)
	}
	if _, err := follower.Propose(ctx, &Command{Type: CmdSetOverride, Override: &Override{Kind: OverridePin, Record: "www.example.test", Pool: "web-us-east", Reason: "test pin", Author: "alice"}}); err != nil {
		t.Fatal(err)
	}
	for _, s := range rest {
		testutil.Eventually(t, "pin on "+s.ID(), 5*time.Second, func() bool { return wwwAnswer(s) == "192.0.2.10" })
	}
}

// A heartbeat proposed on one node reaches every node's engine hook.
func TestHeartbeatReachesEveryNode(t *testing.T) {
	// Seeded first: a spec proposed while the seed is staged is refused
	// (ErrSpecChanged), which this test is not about.
	stores, _ := seededCluster(t)
	beats := make([]chan string, len(stores))
	for i, s := range stores {
		ch := make(chan string, 4)
		beats[i] = ch
		s.FSM().OnHeartbeat(func(check, endpoint string, _ time.Time) { ch <- check + "/" + endpoint })
	}
	// The contract spec has no heartbeat check: add one.
	s := contractSpec(t)
	s.Checks = append(s.Checks, spec.Check{Name: "mailer", Type: spec.CheckHeartbeat, MaxAge: spec.Duration(time.Minute)})
	s.Pools = append(s.Pools, spec.Pool{Name: "jobs", Datacenter: "us-east", Check: "mailer", Endpoints: []spec.Endpoint{{Address: "192.0.2.200"}}})
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	yaml, _ := s.Marshal()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := stores[0].Propose(ctx, &Command{Type: CmdSetSpec, Spec: &SetSpec{YAML: yaml}}); err != nil {
		t.Fatal(err)
	}
	follower := stores[0]
	for _, st := range stores {
		if !st.IsLeader() {
			follower = st
		}
	}
	if err := follower.Heartbeat("mailer", "192.0.2.200", time.Time{}); err != nil {
		t.Fatal(err)
	}
	for i, ch := range beats {
		select {
		case got := <-ch:
			if got != "mailer/192.0.2.200" {
				t.Errorf("node %d heard %q", i, got)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("node %d never heard the beat", i)
		}
	}
	if err := follower.Heartbeat("web", "192.0.2.10", time.Time{}); !errors.Is(err, ErrRejected) {
		t.Errorf("a beat for an http check: %v, want ErrRejected", err)
	}
}

// A node stopped cleanly and restarted alone (its two peers stay down, so
// no leader) serves its latest answers from the snapshot taken at
// shutdown.
func TestRestartAloneServesLatestAnswers(t *testing.T) {
	root := t.TempDir()
	stores := openCluster(t, 3, root)
	for _, s := range stores {
		testutil.Eventually(t, "seeded", 10*time.Second, func() bool { return wwwAnswer(s) == "192.0.2.10" })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := stores[1].Propose(ctx, &Command{Type: CmdSetOverride, Override: &Override{Kind: OverrideDrain, Target: "us-east", Reason: "test"}}); err != nil {
		t.Fatal(err)
	}
	for _, s := range stores {
		testutil.Eventually(t, "drain", 5*time.Second, func() bool { return wwwAnswer(s) == "198.51.100.10" })
	}
	addr := stores[0].Addr()
	for _, s := range stores {
		s.Close()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	again, err := OpenStore(StoreConfig{NodeID: "n0", RaftAddr: addr, Listener: ln, DataDir: filepath.Join(root, "n0"),
		Timing: fastTiming, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	time.Sleep(500 * time.Millisecond)
	if again.IsLeader() {
		t.Fatal("one of three voters became leader alone")
	}
	if got := wwwAnswer(again); got != "198.51.100.10" {
		t.Errorf("restarted without a leader, www answers %q, want the drained answer 198.51.100.10", got)
	}
}

// crash stops s about the way a killed process stops: no snapshot (the
// applied index is still noted once more on the way out).
func crash(s *Store) {
	s.once.Do(func() {
		s.cancel()
		s.wg.Wait()
		s.stopLeaderTasks() // a crash ends the process's goroutines too
		s.raft.Shutdown().Error()
		s.stopDraining()
		s.closeResources()
	})
}

// A node that crashed and restarts alone (no leader: its peers are down
// too) serves the answers it served before the crash, from the entries it
// had applied, not an empty or old state; and when its peers return, Raft
// hands it the same entries again without applying them twice.
func TestCrashRestartAloneServesLatestAnswers(t *testing.T) {
	stores, _ := seededCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := stores[1].Propose(ctx, &Command{Type: CmdSetOverride, Override: &Override{Kind: OverrideDrain, Target: "us-east", Reason: "test"}}); err != nil {
		t.Fatal(err)
	}
	for _, s := range stores {
		testutil.Eventually(t, "drain", 5*time.Second, func() bool { return wwwAnswer(s) == "198.51.100.10" })
	}
	// Commands without an ID, whose second application would show: only
	// the FSM's index skip keeps them from applying twice. The liveness
	// is the leader's own decision, so the leader proposes them.
	var lead *Store
	testutil.Eventually(t, "a leader", 5*time.Second, func() bool {
		for _, s := range stores {
			if s.IsLeader() {
				lead = s
			}
		}
		return lead != nil
	})
	for _, c := range []*Command{
		{Type: CmdObserverReport, Report: &ObserverReport{Observer: "zz"}},
		{Type: CmdObserverLiveness, Liveness: &ObserverLiveness{Observer: "zz", Fresh: false, Reason: "x"}},
		{Type: CmdObserverReport, Report: &ObserverReport{Observer: "zz"}},
	} {
		if _, err := lead.Propose(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, "every node at the same index", 5*time.Second, func() bool {
		a := stores[0].FSM().AppliedIndex()
		return a == stores[1].FSM().AppliedIndex() && a == stores[2].FSM().AppliedIndex()
	})
	time.Sleep(600 * time.Millisecond) // the applied index is noted every 250 ms
	var cfgs []StoreConfig
	for _, s := range stores {
		crash(s)
		cfgs = append(cfgs, s.cfg)
	}
	reopen := func(i int) *Store {
		t.Helper()
		cfg := cfgs[i]
		ln, err := net.Listen("tcp", cfg.RaftAddr)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Listener, cfg.Seed = ln, nil
		s, err := OpenStore(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	alone := reopen(0)
	if alone.IsLeader() {
		t.Fatal("one of three voters became leader alone")
	}
	if got := wwwAnswer(alone); got != "198.51.100.10" {
		t.Errorf("restarted after a crash without a leader, www answers %q, want the drained answer 198.51.100.10", got)
	}
	overrides := func(s *Store) (n int) {
		s.FSM().read(func(st *State) {
			for _, e := range st.Events {
				if e.Kind == "override" {
					n++
				}
			}
		})
		return n
	}
	if n := overrides(alone); n != 1 {
		t.Errorf("%d override events after the replay, want 1", n)
	}
	reopen(1)
	reopen(2)
	testutil.Eventually(t, "a leader", 10*time.Second, func() bool { _, addr := alone.Leader(); return addr != "" })
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	// A new entry commits: every earlier one is applied by now.
	if _, err := alone.Propose(ctx2, &Command{Type: CmdObserverReport, Report: &ObserverReport{Observer: alone.ID()}}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "Raft caught up", 5*time.Second, func() bool { return alone.raft.AppliedIndex() >= alone.raft.LastIndex() })
	zz := func(s *Store) (n int) {
		s.FSM().read(func(st *State) {
			for _, e := range st.Events {
				if e.Subject == "zz" {
					n++
				}
			}
		})
		return n
	}
	if n := zz(alone); n != 3 {
		t.Errorf("%d events for observer zz, want 3", n)
	}
	if n := overrides(alone); n != 1 {
		t.Errorf("%d override events once the leader handed the entries over again, want 1", n)
	}
	if got := wwwAnswer(alone); got != "198.51.100.10" {
		t.Errorf("www answers %q with the cluster back, want 198.51.100.10", got)
	}
}

// A refusal forwarded from the leader keeps its sentinel.
func TestForwardedRefusalKeepsItsKind(t *testing.T) {
	_, follower := seededCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := follower.Propose(ctx, &Command{Type: CmdSetOverride, Override: &Override{Kind: OverrideDrain, Target: "nowhere", Reason: "x"}})
	if !errors.Is(err, ErrRejected) || !errors.Is(err, ErrUnknownTarget) {
		t.Errorf("forwarded drain of an unknown target: %v", err)
	}
	_, err = follower.Propose(ctx, &Command{Type: CmdSetSpec, Spec: &SetSpec{YAML: []byte("zones: []\n")}})
	if !errors.Is(err, spec.ErrInvalid) {
		t.Errorf("forwarded invalid spec: %v", err)
	}
	incident := func(c IncidentCommand) (Result, error) {
		return follower.Propose(ctx, &Command{Type: CmdIncident, Incident: &c})
	}
	if _, err := incident(IncidentCommand{Action: IncidentActionUpdate, ID: "404", Message: "m"}); !errors.Is(err, ErrUnknownIncident) {
		t.Errorf("forwarded update of no incident: %v", err)
	}
	opened, err := incident(IncidentCommand{Action: IncidentActionOpen, Title: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := incident(IncidentCommand{Action: IncidentActionResolve, ID: opened.Incident}); err != nil {
		t.Fatal(err)
	}
	_, err = incident(IncidentCommand{Action: IncidentActionResolve, ID: opened.Incident})
	if !errors.Is(err, ErrIncidentResolved) || !errors.Is(err, ErrRejected) {
		t.Errorf("forwarded resolve of a resolved incident: %v, want ErrIncidentResolved", err)
	}
}

// A spec made over one version applies only over that version, checked
// where it applies; the seed applies only over no spec, so it never
// overwrites an operator's spec that landed first.
func TestSetSpecIfVersion(t *testing.T) {
	stores, follower := seededCluster(t)
	_, v := follower.FSM().Spec()
	s := contractSpec(t)
	s.Records[0].TTL = 42
	yaml, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	over := v
	if _, err := follower.Propose(ctx, &Command{Type: CmdSetSpec, Spec: &SetSpec{YAML: yaml, IfVersion: &over}}); err != nil {
		t.Fatalf("over the version in force: %v", err)
	}
	s.Records[0].TTL = 43 // a valid spec: an invalid one is refused before it is proposed
	other, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, stale := range []uint64{v, 0} { // a second writer that diffed v; the seed
		_, err := follower.Propose(ctx, &Command{Type: CmdSetSpec, Spec: &SetSpec{YAML: other, IfVersion: &stale}})
		if !errors.Is(err, ErrSpecChanged) {
			t.Errorf("over version %d with %d in force: %v, want ErrSpecChanged", stale, v+1, err)
		}
	}
	for _, st := range stores {
		testutil.Eventually(t, "version "+fmt.Sprint(v+1)+" on "+st.ID(), 5*time.Second, func() bool {
			sp, got := st.FSM().Spec()
			return got == v+1 && sp.Records[0].TTL == 42
		})
	}
}

// Through Raft: a command proposed twice with one ID (as a retry after a
// leader change does) opens one incident; the same command value proposed
// twice without an ID is two commands.
func TestProposeOnce(t *testing.T) {
	stores, _ := seededCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	incidents := func(s *Store) (n int) {
		s.FSM().read(func(st *State) { n = len(st.Incidents) })
		return n
	}
	retried := &Command{Type: CmdIncident, ID: "n0-test-1", Incident: &IncidentCommand{Action: IncidentActionOpen, Title: "t", Message: "m"}}
	var results []Result
	for i := range 2 {
		res, err := stores[i].Propose(ctx, retried)
		if err != nil {
			t.Fatalf("copy %d: %v", i+1, err)
		}
		results = append(results, res)
	}
	// The retried copy answers with what the first did: the same entry,
	// the same incident.
	if first, again := results[0], results[1]; first.Incident == "" || first.Index == 0 || first.Duplicate ||
		again.Index != first.Index || again.Incident != first.Incident || !again.Duplicate {
		t.Errorf("a retried command answered %+v, the first copy %+v; want the first copy's result, marked duplicate", again, first)
	}
	fresh := &Command{Type: CmdIncident, Incident: &IncidentCommand{Action: IncidentActionOpen, Title: "t2", Message: "m"}}
	ids := map[string]bool{results[0].Incident: true}
	for range 2 {
		res, err := stores[2].Propose(ctx, fresh)
		if err != nil {
			t.Fatal(err)
		}
		if ids[res.Incident] || res.Duplicate {
			t.Errorf("a new command answered %+v: incident %s was already opened", res, res.Incident)
		}
		ids[res.Incident] = true
	}
	if fresh.ID != "" {
		t.Errorf("Propose changed the caller's command: ID %q", fresh.ID)
	}
	for _, s := range stores {
		testutil.Eventually(t, "3 incidents on "+s.ID(), 5*time.Second, func() bool { return incidents(s) == 3 })
	}
}
