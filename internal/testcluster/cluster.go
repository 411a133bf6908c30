// Package testcluster runs a detour cluster inside one test: three nodes
// on loopback with the real TCP transport and raft-boltdb in temp dirs,
// one simulated datacenter per node with a real HTTP site, and faults to
// inject: kill a datacenter, cut a node off, delay its links.
package testcluster

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/internal/testutil/fixture"
)

// Datacenters are the simulated datacenters, in the failover order of the
// record www.example.test.
var Datacenters = fixture.Datacenters

// Addresses www.example.test answers for each datacenter, and when all
// are down.
var (
	Answers  = fixture.Answers
	Fallback = fixture.Fallback
)

// Timing is fast enough for tests and keeps the shape of the WAN defaults.
var Timing = controller.Timing{
	HeartbeatTimeout:   300 * time.Millisecond,
	ElectionTimeout:    300 * time.Millisecond,
	LeaderLeaseTimeout: 150 * time.Millisecond,
	CommitTimeout:      10 * time.Millisecond,
	StaleAfter:         1500 * time.Millisecond,
	ReportInterval:     300 * time.Millisecond,
}

// Member is one node and its datacenter's site.
type Member struct {
	ID, DC   string
	SourceIP string
	Node     *node.Node
	Site     *Site
	cfg      node.Config
	Down     bool
}

// Cluster is three nodes, three datacenters.
type Cluster struct {
	t       testing.TB
	Members []*Member
	Faults  *Faults
	Spec    string
	root    string
	// endpoints is how many endpoints the spec checks.
	endpoints int
}

// Options tune a cluster.
type Options struct {
	// Interval and Fall of the web check; 0 means 200ms and 2.
	Interval time.Duration
	Fall     int
	// Timing overrides the Raft timing.
	Timing *controller.Timing
	// Logger receives every node's logs; nil discards them.
	Logger *slog.Logger
	// StatusNodeLabels shows each node's ID in its status page's footer
	// (status_node_label); by default node IDs stay private.
	StatusNodeLabels bool
	// Configure, when set, changes a member's settings before its node
	// first starts (a skewed clock, a failing log store...); restarts
	// keep them.
	Configure func(m *Member, cfg *node.Config)
	// SpecHook, when set, rewrites the cluster's spec before the nodes
	// start (more pools and records: region.go); New then waits for
	// every endpoint it names to be reported up.
	SpecHook func(spec string) string
}

// New starts a cluster and waits until every node is ready.
func New(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Interval == 0 {
		opts.Interval = 200 * time.Millisecond
	}
	if opts.Fall == 0 {
		opts.Fall = 2
	}
	timing := Timing
	if opts.Timing != nil {
		timing = *opts.Timing
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{t: t, Faults: NewFaults(), root: t.TempDir()}
	var peers []node.Peer
	var lns []net.Listener
	for i, dc := range Datacenters {
		m := &Member{ID: fmt.Sprintf("%s-1", dc), DC: dc, SourceIP: fmt.Sprintf("127.0.0.%d", 21+i), Site: newSite()}
		t.Cleanup(m.Site.Kill)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		peers = append(peers, node.Peer{ID: m.ID, Address: ln.Addr().String()})
		c.Faults.Register(m.ID, ln.Addr().String())
		c.Members = append(c.Members, m)
	}
	c.Spec = c.specText(opts.Interval, opts.Fall)
	if opts.SpecHook != nil {
		c.Spec = opts.SpecHook(c.Spec)
	}
	c.endpoints = countEndpoints(t, c.Spec)
	specFile := filepath.Join(c.root, "spec.yaml")
	if err := os.WriteFile(specFile, []byte(c.Spec), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, m := range c.Members {
		m.cfg = node.Config{
			NodeID: m.ID, Datacenter: m.DC, RaftAddr: peers[i].Address, Peers: peers,
			DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", StatusAddr: "127.0.0.1:0", DataDir: filepath.Join(c.root, m.ID),
			Spec: specFile, Timing: timing, Deps: node.Deps{Dial: c.Faults.Dialer(m.ID), SourceIP: net.ParseIP(m.SourceIP)},
			CheckAllowNetworks: node.LoopbackNetworks, // the sites listen on loopback
			Insecure:           true,                  // plaintext node ports, on loopback
			// Every test client is on 127.0.0.0/24: no rate limit.
			DNSLimits: node.DNSLimits{RateLimit: -1},
		}
		if opts.StatusNodeLabels {
			m.cfg.StatusNodeLabel = m.ID
		}
		m.cfg.NotifyAllowNetworks = node.LoopbackNetworks // so do notification receivers

		m.cfg.DNSPeerAllowNetworks = node.LoopbackNetworks // and DNS secondaries and RFC 2136 primaries
		if opts.Configure != nil {
			opts.Configure(m, &m.cfg)
		}
		c.start(m, lns[i], logger.With("node", m.ID))
	}
	t.Cleanup(c.Close)
	// A big spec (SpecHook) takes longer: it is compiled on every node,
	// its endpoints' first probes spread over an interval, and three
	// nodes probe them on one machine.
	settle := 20*time.Second + time.Duration(c.endpoints)*10*time.Millisecond
	if testutil.Race {
		settle *= 2 // the race detector slows the probes several times over
	}
	for _, m := range c.Members {
		c.WaitAnswer(m, Answers["us-east"], settle)
	}
	c.waitSettled(settle)
	return c
}

// waitSettled waits until every observer has reported every endpoint up:
// until then answers rest on "not checked yet".
func (c *Cluster) waitSettled(timeout time.Duration) {
	c.t.Helper()
	// A big spec's verdicts are many: looking at them every few
	// milliseconds took a tenth of the process's CPU from the nodes.
	every := fixture.PollEvery
	if c.endpoints > 100 {
		every = 250 * time.Millisecond
	}
	settled := func() bool {
		view := c.Members[0].Node.Store().FSM().View()
		for _, m := range c.Members {
			vs := view.Verdicts(m.ID)
			if len(vs) != c.endpoints {
				return false
			}
			for _, v := range vs {
				if !v.Up {
					return false
				}
			}
		}
		return true
	}
	deadline := time.Now().Add(timeout)
	for !settled() {
		if !time.Now().Before(deadline) {
			c.t.Fatalf("waiting for observers to report every endpoint up: not within %s", timeout)
		}
		time.Sleep(every)
	}
}

func (c *Cluster) start(m *Member, ln net.Listener, logger *slog.Logger) {
	c.t.Helper()
	cfg := m.cfg
	cfg.Listener = c.Faults.Listener(m.ID, ln)
	cfg.WrapLogStore = c.Faults.wrapLog(m.ID, cfg.WrapLogStore)
	n, err := node.Start(cfg, logger)
	if err != nil {
		c.t.Fatalf("start %s: %v", m.ID, err)
	}
	m.Node, m.Down = n, false
}

func (c *Cluster) specText(interval time.Duration, fall int) string {
	f := fixture.ThreeDC{Interval: interval, Fall: fall, TTL: 1, CheckAddr: map[string]string{}}
	for _, m := range c.Members {
		f.CheckAddr[m.DC] = m.Site.Addr
	}
	return f.Spec()
}

// Member returns the member in datacenter dc.
func (c *Cluster) Member(dc string) *Member {
	for _, m := range c.Members {
		if m.DC == dc {
			return m
		}
	}
	c.t.Fatalf("no datacenter %s", dc)
	return nil
}

// Live returns the members that are running.
func (c *Cluster) Live() []*Member {
	var out []*Member
	for _, m := range c.Members {
		if !m.Down {
			out = append(out, m)
		}
	}
	return out
}

// Leader returns the live member that leads, waiting for one.
func (c *Cluster) Leader() *Member {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range c.Live() {
			if m.Node.Store().IsLeader() {
				return m
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatal("no leader within 15s")
	return nil
}

// KillDC takes a whole datacenter down at once: its node is cut off and
// stopped, its site stops answering.
func (c *Cluster) KillDC(dc string) {
	m := c.Member(dc)
	c.Faults.Cut(m.ID)
	m.Site.Kill()
	c.StopNode(m)
}

// StopNode stops a member's node (its data stays for Restart).
func (c *Cluster) StopNode(m *Member) {
	if m.Down {
		return
	}
	m.Down = true
	_ = m.Node.Close(context.Background())
}

// Restart starts a stopped member again from its data dir.
func (c *Cluster) Restart(m *Member, logger *slog.Logger) {
	c.RestartWith(m, logger, nil)
}

// RestartWith starts a stopped member again from its data dir, its
// settings changed by configure first (nil: as they were).
func (c *Cluster) RestartWith(m *Member, logger *slog.Logger, configure func(*node.Config)) {
	c.t.Helper()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", m.cfg.RaftAddr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		c.t.Fatalf("restart %s: %v", m.ID, err)
	}
	c.Faults.Heal(m.ID)
	if configure != nil {
		configure(&m.cfg)
	}
	c.start(m, ln, logger)
}

// Answer asks member m's DNS server for www.example.test A over UDP.
func (c *Cluster) Answer(m *Member) string { return c.Query(m, "www.example.test.") }

// Query asks member m for name's A record: the last address, "NXDOMAIN",
// "none" or an error.
func (c *Cluster) Query(m *Member, name string) string {
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypeA)
	cl := &dns.Client{Timeout: time.Second}
	r, _, err := cl.Exchange(q, m.Node.DNSAddr())
	if err != nil {
		return "error: " + err.Error()
	}
	if r.Rcode != dns.RcodeSuccess {
		return dns.RcodeToString[r.Rcode]
	}
	for i := len(r.Answer) - 1; i >= 0; i-- {
		if a, ok := r.Answer[i].(*dns.A); ok {
			return a.A.String()
		}
	}
	return "none"
}

// WaitAnswer waits until member m answers want for www.
func (c *Cluster) WaitAnswer(m *Member, want string, timeout time.Duration) time.Duration {
	c.t.Helper()
	start := time.Now()
	got := ""
	if err := fixture.Poll(context.Background(), timeout, func() bool {
		got = c.Answer(m)
		return got == want
	}); err != nil {
		c.t.Fatalf("%s answers %s, want %s: %v", m.ID, got, want, err)
	}
	return time.Since(start)
}

// Propose commits a command through member m.
func (c *Cluster) Propose(m *Member, cmd *controller.Command) error {
	_, err := c.ProposeResult(m, cmd)
	return err
}

// ProposeResult commits a command through member m and returns what it
// did.
func (c *Cluster) ProposeResult(m *Member, cmd *controller.Command) (controller.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return m.Node.Store().Propose(ctx, cmd)
}

// Events returns member m's event log.
func (c *Cluster) Events(m *Member) []controller.Event {
	return m.Node.Store().FSM().View().Events()
}

// CheckInvariants ends a scenario like raft's fuzzy tests: once the live
// nodes have caught up, they hold the same state, serve the same answers,
// and have lost nothing committed.
func (c *Cluster) CheckInvariants() {
	c.t.Helper()
	live := c.Live()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var problems []string
		ref := live[0]
		refIdx := ref.Node.Store().AppliedIndex()
		refEvents := c.Events(ref)
		for _, m := range live[1:] {
			if idx := m.Node.Store().AppliedIndex(); idx != refIdx {
				problems = append(problems, fmt.Sprintf("%s applied %d, %s applied %d", m.ID, idx, ref.ID, refIdx))
				continue
			}
			ev := c.Events(m)
			if !slices.Equal(ev, refEvents) {
				problems = append(problems, fmt.Sprintf("%s and %s differ in their event logs (%d vs %d events)", m.ID, ref.ID, len(ev), len(refEvents)))
			}
			for _, name := range []string{"www.example.test.", "docs.example.test.", "nope.example.test."} {
				if a, b := c.Query(m, name), c.Query(ref, name); a != b {
					problems = append(problems, fmt.Sprintf("%s answers %s for %s, %s answers %s", m.ID, a, name, ref.ID, b))
				}
			}
			if a, b := m.Node.Store().FSM().Answers().Serial("example.test"), ref.Node.Store().FSM().Answers().Serial("example.test"); a != b {
				problems = append(problems, fmt.Sprintf("serials differ: %s %d, %s %d", m.ID, a, ref.ID, b))
			}
		}
		if len(problems) == 0 {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("invariants broken:\n  %s", strings.Join(problems, "\n  "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Close stops every node.
func (c *Cluster) Close() {
	for _, m := range c.Members {
		c.StopNode(m)
	}
}
