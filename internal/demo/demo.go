// Package demo runs `detour demo`: three nodes and three simulated
// datacenters, each with a small web site, in one process on loopback.
// A datacenter can be taken down (its node and its site) and brought
// back, so a newcomer watches the leader's loss and the failover live.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/internal/testutil/fixture"
)

// Errors of the demo's controls.
var (
	ErrUnknownDC = errors.New("no such datacenter in the demo")
)

// Datacenters of the demo, in the failover order of www.example.test,
// with the address www answers for each, and the fallback.
var (
	Datacenters = fixture.Datacenters
	Answers     = fixture.Answers
	Fallback    = fixture.Fallback
)

// Timing is quick enough to watch on loopback and keeps the shape of
// the WAN defaults.
var Timing = controller.Timing{
	HeartbeatTimeout:   500 * time.Millisecond,
	ElectionTimeout:    500 * time.Millisecond,
	LeaderLeaseTimeout: 250 * time.Millisecond,
	CommitTimeout:      10 * time.Millisecond,
	StaleAfter:         2 * time.Second,
	ReportInterval:     500 * time.Millisecond,
}

// Options place the demo. Zero ports pick free ones (tests); the
// defaults are what `detour demo` prints.
type Options struct {
	Host        string // default 127.0.0.1
	DNSPorts    [3]int
	APIPorts    [3]int
	RaftPorts   [3]int
	SitePorts   [3]int
	ControlPort int
	// Interval of the web check; default 1s (fall 2, rise 2).
	Interval time.Duration
	Logger   *slog.Logger
}

// DefaultOptions are the ports `detour demo` uses.
func DefaultOptions() Options {
	return Options{
		Host:        "127.0.0.1",
		DNSPorts:    [3]int{5353, 5354, 5355},
		APIPorts:    [3]int{8053, 8054, 8055},
		RaftPorts:   [3]int{7001, 7002, 7003},
		SitePorts:   [3]int{18101, 18102, 18103},
		ControlPort: 8050,
		Interval:    time.Second,
	}
}

// member is one datacenter: its node and its site.
type member struct {
	id, dc string
	cfg    node.Config
	node   *node.Node
	site   *site
}

// Demo is a running demo.
type Demo struct {
	opts    Options
	logger  *slog.Logger
	dir     string
	members []*member
	control *control

	mu sync.Mutex
}

// Start starts the sites, then the three nodes, and waits until every
// node answers www.example.test from us-east.
func Start(ctx context.Context, opts Options) (*Demo, error) {
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if ip := net.ParseIP(opts.Host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("demo: host %q: the demo runs without TLS or tokens, so on loopback only", opts.Host)
	}
	if opts.Interval == 0 {
		opts.Interval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	dir, err := os.MkdirTemp("", "detour-demo-")
	if err != nil {
		return nil, err
	}
	d := &Demo{opts: opts, logger: opts.Logger, dir: dir}
	ok := false
	defer func() {
		if !ok {
			d.Close()
		}
	}()
	hostPort := func(p int) string { return net.JoinHostPort(opts.Host, fmt.Sprint(p)) }
	var peers []node.Peer
	var lns []net.Listener
	for i, dc := range Datacenters {
		m := &member{id: dc + "-1", dc: dc, site: &site{dc: dc, addr: hostPort(opts.SitePorts[i])}}
		if err := m.site.start(); err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", hostPort(opts.RaftPorts[i]))
		if err != nil {
			return nil, fmt.Errorf("demo: raft port of %s: %w (is another demo running?)", dc, err)
		}
		lns = append(lns, ln)
		peers = append(peers, node.Peer{ID: m.id, Address: ln.Addr().String()})
		d.members = append(d.members, m)
	}
	specFile := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(specFile, []byte(d.specText()), 0o644); err != nil {
		return nil, err
	}
	for i, m := range d.members {
		m.cfg = node.Config{
			NodeID: m.id, Datacenter: m.dc, RaftAddr: peers[i].Address, Peers: peers,
			DNSAddr: hostPort(opts.DNSPorts[i]), APIAddr: hostPort(opts.APIPorts[i]),
			DataDir: filepath.Join(dir, m.id), Spec: specFile, Timing: Timing, Deps: node.Deps{Listener: lns[i]},
			CheckAllowNetworks: node.LoopbackNetworks, // the sites listen on loopback
			Insecure:           true,                  // the demo's node ports are plaintext, on loopback
			// The demo's visitor queries from one address.
			DNSLimits: node.DNSLimits{RateLimit: -1},
		}
		m.cfg.NotifyAllowNetworks = node.LoopbackNetworks // so do notification receivers

		m.cfg.DNSPeerAllowNetworks = node.LoopbackNetworks // and DNS secondaries and RFC 2136 primaries
		n, err := node.Start(m.cfg, d.logger.With("node", m.id))
		if err != nil {
			for _, l := range lns[i+1:] {
				l.Close()
			}
			return nil, fmt.Errorf("demo: starting %s: %w", m.id, err)
		}
		m.node = n
		// A restart binds the same addresses, so what was printed
		// stays true.
		m.cfg.DNSAddr, m.cfg.APIAddr, m.cfg.Listener = n.DNSAddr(), n.APIAddr(), nil
	}
	if d.control, err = startControl(d, hostPort(opts.ControlPort)); err != nil {
		return nil, err
	}
	for _, m := range d.members {
		if err := d.waitAnswer(ctx, m, Answers["us-east"], 30*time.Second); err != nil {
			return nil, err
		}
	}
	ok = true
	return d, nil
}

func (d *Demo) specText() string {
	f := fixture.ThreeDC{
		Comment:  "The spec of detour demo: three datacenters, a web site in each,\nwww.example.test failing over us-east -> us-west -> eu-west.",
		Interval: d.opts.Interval, TTL: 5, Nameservers: 3, CheckAddr: map[string]string{},
	}
	for _, m := range d.members {
		f.CheckAddr[m.dc] = m.site.addr
	}
	return f.Spec()
}

func (d *Demo) member(dc string) (*member, error) {
	for _, m := range d.members {
		if m.dc == dc {
			return m, nil
		}
	}
	return nil, fmt.Errorf("%w: %q (datacenters: %s)", ErrUnknownDC, dc, strings.Join(Datacenters, ", "))
}

// Down takes a datacenter down at once: its site stops answering and
// its node stops, leader or not.
func (d *Demo) Down(dc string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	m, err := d.member(dc)
	if err != nil {
		return err
	}
	m.site.stop()
	if m.node != nil {
		n := m.node
		m.node = nil
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return n.Close(ctx)
	}
	return nil
}

// Up brings a datacenter back: its site, then its node from its data
// dir, rejoining the cluster.
func (d *Demo) Up(dc string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	m, err := d.member(dc)
	if err != nil {
		return err
	}
	if err := m.site.start(); err != nil {
		return err
	}
	if m.node != nil {
		return nil
	}
	var ln net.Listener
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", m.cfg.RaftAddr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("demo: %s: raft port: %w", m.id, err)
	}
	cfg := m.cfg
	cfg.Listener = ln
	n, err := node.Start(cfg, d.logger.With("node", m.id))
	if err != nil {
		return fmt.Errorf("demo: restarting %s: %w", m.id, err)
	}
	m.node = n
	return nil
}

// State says which datacenters are up.
func (d *Demo) State() map[string]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]bool{}
	for _, m := range d.members {
		out[m.dc] = m.node != nil
	}
	return out
}

// DNSAddr and APIAddr are a datacenter's node addresses.
func (d *Demo) DNSAddr(dc string) string { m, _ := d.member(dc); return m.cfg.DNSAddr }
func (d *Demo) APIAddr(dc string) string { m, _ := d.member(dc); return m.cfg.APIAddr }

// ControlAddr is where `detour demo down|up` reach this demo.
func (d *Demo) ControlAddr() string { return d.control.addr }

// Close stops the controls, every node and every site, and removes the
// demo's data.
func (d *Demo) Close() {
	if d.control != nil {
		d.control.close()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range d.members {
		if m.node != nil {
			_ = m.node.Close(context.Background())
			m.node = nil
		}
		m.site.stop()
	}
	_ = os.RemoveAll(d.dir)
}

func (d *Demo) waitAnswer(ctx context.Context, m *member, want string, timeout time.Duration) error {
	got := ""
	err := fixture.Poll(ctx, timeout, func() bool {
		got = Query(m.cfg.DNSAddr, "www.example.test.")
		return got == want
	})
	if errors.Is(err, fixture.ErrTimeout) {
		return fmt.Errorf("demo: %s answers %s for www.example.test, want %s after %s", m.id, got, want, timeout)
	}
	return err
}

// Query asks a DNS server for name's A record: the addresses joined by
// commas, the rcode when not NOERROR, or the error.
func Query(addr, name string) string {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeA)
	r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(q, addr)
	if err != nil {
		return "error: " + err.Error()
	}
	if r.Rcode != dns.RcodeSuccess {
		return dns.RcodeToString[r.Rcode]
	}
	var out []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return strings.Join(out, ",")
}
