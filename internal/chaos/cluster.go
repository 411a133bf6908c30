package chaos

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/seed3787e6f1/detour/controller"
)

// Settings of the cluster under test. The node network's latency calls
// for Raft timeouts above the defaults: the nodes run with --wan-rtt
// set to the lab's longest round trip (cluster.md, failover timing), and
// minority_after takes its default, derived from it.
const (
	checkInterval = 500 * time.Millisecond
	checkFall     = 2
	// labRTT is the longest round trip of the node network: twice the
	// longest one-way delay the trials draw, jitter included.
	labRTT   = 2 * (maxDelay + linkJitter)
	sitePort = 8080
)

// timing is what the nodes derive from --wan-rtt labRTT.
var timing = controller.WANTiming(labRTT)

// minorityAfter is the nodes' minority_after (the default under
// --wan-rtt: the observer staleness).
var minorityAfter = timing.StaleAfter

// Build compiles the detour command into dir and returns its path.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "detour")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/seed3787e6f1/detour/cmd/detour")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("chaos: build: %w\n%s", err, out)
	}
	return bin, nil
}

// Node is one datacenter's `detour agent` process.
type Node struct {
	ID   string
	Idx  int
	Mode string // minority mode
	DNS  string
	API  string
	args []string
	// Env is added to the process's environment at its next start
	// (clock.go's skew).
	Env  []string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

// Cluster is the nodes and sites of one trial.
type Cluster struct {
	Lab    *Lab
	bin    string
	dir    string
	rtt    time.Duration // the nodes' --wan-rtt (0: none)
	Nodes  []*Node
	Sites  []*Site
	Token  string
	client *http.Client
}

// Answer is the A record the pools of datacenter i answer.
func Answer(i int) string { return fmt.Sprintf("198.51.100.%d", i+1) }

// Fallback is the records' fallback answer.
const Fallback = "192.0.2.99"

// NewCluster makes the certificates, tokens and spec in dir and starts one
// site and one agent per datacenter of lab. modes are the nodes' minority
// modes.
func NewCluster(lab *Lab, bin, dir string, modes []string) (*Cluster, error) {
	return NewClusterRTT(lab, bin, dir, modes, labRTT)
}

// NewClusterRTT is NewCluster with the nodes' --wan-rtt set to rtt (0:
// none, the default timing).
func NewClusterRTT(lab *Lab, bin, dir string, modes []string, rtt time.Duration) (*Cluster, error) {
	c := &Cluster{Lab: lab, bin: bin, dir: dir, rtt: rtt}
	tok := make([]byte, 32)
	_, _ = rand.Read(tok)
	c.Token = hex.EncodeToString(tok)
	if err := c.writeFiles(); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(filepath.Join(dir, "tls", "ca.pem"))
	if err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	pool.AppendCertsFromPEM(ca)
	c.client = &http.Client{Timeout: 12 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 4,
		DialContext:         (&net.Dialer{Timeout: time.Second}).DialContext,
	}}
	var peers []string
	for i := range lab.NS {
		peers = append(peers, fmt.Sprintf("n%d@%s:7000", i+1, lab.NodeIP(i)))
	}
	for i := range lab.NS {
		site, err := StartSite(lab, i)
		if err != nil {
			return nil, err
		}
		c.Sites = append(c.Sites, site)
		n := &Node{ID: fmt.Sprintf("n%d", i+1), Idx: i, Mode: modes[i],
			DNS: lab.ServiceIP(i) + ":53", API: lab.ServiceIP(i) + ":8053"}
		tlsDir := filepath.Join(dir, "tls")
		n.args = []string{"agent", "--node-id", n.ID, "--datacenter", fmt.Sprintf("dc%d", i+1),
			"--raft-addr", lab.NodeIP(i) + ":7000", "--peers", strings.Join(peers, ","),
			"--dns-addr", n.DNS, "--api-addr", n.API,
			"--data-dir", filepath.Join(dir, n.ID), "--spec", filepath.Join(dir, "spec.yaml"),
			"--tls-ca", filepath.Join(tlsDir, "ca.pem"),
			"--tls-cert", filepath.Join(tlsDir, n.ID+".pem"), "--tls-key", filepath.Join(tlsDir, n.ID+"-key.pem"),
			"--api-tokens", filepath.Join(dir, "tokens.yaml"),
			"--minority-mode", n.Mode,
		}
		if rtt > 0 {
			n.args = append(n.args, "--wan-rtt", rtt.String())
		}
		c.Nodes = append(c.Nodes, n)
	}
	if err := c.mountDisks(); err != nil {
		c.unmountDisks()
		return nil, err
	}
	for _, n := range c.Nodes {
		if err := c.Start(n); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Cluster) writeFiles() error {
	tlsDir := filepath.Join(c.dir, "tls")
	if out, err := exec.Command(c.bin, "tls", "ca", "create", "--dir", tlsDir).CombinedOutput(); err != nil {
		return fmt.Errorf("chaos: tls ca: %w: %s", err, out)
	}
	for i := range c.Lab.NS {
		addr := c.Lab.NodeIP(i) + "," + c.Lab.ServiceIP(i)
		if out, err := exec.Command(c.bin, "tls", "cert", "create", "--node", fmt.Sprintf("n%d", i+1),
			"--address", addr, "--dir", tlsDir).CombinedOutput(); err != nil {
			return fmt.Errorf("chaos: tls cert: %w: %s", err, out)
		}
	}
	tokens := fmt.Sprintf("tokens:\n  - {name: chaos, scope: admin, token: %q}\n", c.Token)
	if err := os.WriteFile(filepath.Join(c.dir, "tokens.yaml"), []byte(tokens), 0o600); err != nil {
		return fmt.Errorf("chaos: %w", err)
	}
	return os.WriteFile(filepath.Join(c.dir, "spec.yaml"), []byte(SpecText(c.Lab, 1)), 0o644)
}

// SpecText is the trial's spec: www fails over across the datacenters in
// order (health only: no override touches it), app across its own pools
// of the same sites (the overrides' target). ttl varies the spec between
// applies.
func SpecText(lab *Lab, ttl int) string {
	var pools, dcs strings.Builder
	for i := range lab.NS {
		fmt.Fprintf(&dcs, "{name: dc%d}, ", i+1)
		for _, p := range []string{"web", "app"} {
			fmt.Fprintf(&pools, "  - {name: %s-dc%d, datacenter: dc%d, check: web, endpoints: [{address: %s, check_address: \"%s:%d\"}]}\n",
				p, i+1, i+1, Answer(i), lab.ServiceIP(i), sitePort)
		}
	}
	order := func(p string) string {
		var s []string
		for i := range lab.NS {
			s = append(s, fmt.Sprintf("%s-dc%d", p, i+1))
		}
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf(`zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: "ns1 IN A 192.0.2.53\n"
datacenters: [%s]
checks:
  - {name: web, type: http, path: /healthz, expect_body: ok, interval: %s, timeout: 300ms, rise: 2, fall: %d}
pools:
%srecords:
  - {name: www.example.test, type: A, ttl: 1, pools: [%s], fallback: [%s]}
  - {name: app.example.test, type: A, ttl: %d, pools: [%s], fallback: [%s]}
`, strings.TrimSuffix(dcs.String(), ", "), checkInterval, checkFall, pools.String(), order("web"), Fallback, ttl, order("app"), Fallback)
}

// Start starts n's process (again).
func (c *Cluster) Start(n *Node) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		return errors.New("chaos: node already running")
	}
	lf, err := os.OpenFile(filepath.Join(c.dir, n.ID+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("chaos: %w", err)
	}
	fmt.Fprintf(lf, "=== start %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := c.Lab.Command(n.Idx, c.bin, n.args...)
	if n.Env != nil {
		cmd.Env = append(os.Environ(), n.Env...)
	}
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		lf.Close()
		return fmt.Errorf("chaos: start %s: %w", n.ID, err)
	}
	n.cmd, n.log, n.done = cmd, lf, make(chan struct{})
	done := n.done
	go func() { _ = cmd.Wait(); lf.Close(); close(done) }()
	return nil
}

// Signal sends sig to n's process; SIGKILL and SIGTERM also wait for it to
// exit.
func (c *Cluster) Signal(n *Node, sig syscall.Signal) error {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	if sig == syscall.SIGKILL || sig == syscall.SIGTERM {
		n.cmd = nil
	}
	n.mu.Unlock()
	if cmd == nil {
		return fmt.Errorf("chaos: %s is not running", n.ID)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("chaos: signal %s: %w", n.ID, err)
	}
	if sig != syscall.SIGKILL && sig != syscall.SIGTERM {
		return nil
	}
	if sig == syscall.SIGTERM {
		_ = cmd.Process.Signal(syscall.SIGCONT)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	return nil
}

// Running says whether n's process was started and not killed.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd != nil
}

// Close kills every node and site.
func (c *Cluster) Close() {
	for _, n := range c.Nodes {
		if n.Running() {
			_ = c.Signal(n, syscall.SIGKILL)
		}
	}
	for _, s := range c.Sites {
		s.Stop()
	}
	c.unmountDisks()
}

// Logs is the tail of n's log.
func (c *Cluster) Logs(n *Node, lines int) string {
	f, err := os.Open(filepath.Join(c.dir, n.ID+".log"))
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var all []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		all = append(all, sc.Text())
	}
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// Site is one datacenter's HTTP target, served by the test process from
// a listener in the datacenter's namespace.
type Site struct {
	lab *Lab
	idx int
	mu  sync.Mutex
	srv *http.Server
}

// StartSite starts datacenter i's site.
func StartSite(lab *Lab, i int) (*Site, error) {
	s := &Site{lab: lab, idx: i}
	return s, s.Start()
}

// Start serves the site (again).
func (s *Site) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	var ln net.Listener
	err := InNetns(s.lab.NS[s.idx], func() (err error) {
		lc := net.ListenConfig{}
		ln, err = lc.Listen(context.Background(), "tcp", fmt.Sprintf("%s:%d", s.lab.ServiceIP(s.idx), sitePort))
		return err
	})
	if err != nil {
		return fmt.Errorf("chaos: site %d: %w", s.idx, err)
	}
	srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})}
	srv.SetKeepAlivesEnabled(false)
	s.srv = srv
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// Stop kills the site: its listener and connections close at once.
func (s *Site) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		_ = s.srv.Close()
		s.srv = nil
	}
}

// WaitReady waits until every running node is ready (/v1/ready 200) and
// answers the first datacenter's address for www.
func (c *Cluster) WaitReady(timeout time.Duration) error {
	cl := newDNSClient()
	deadline := time.Now().Add(timeout)
	for {
		var notReady []string
		for _, n := range c.Nodes {
			if !n.Running() {
				continue
			}
			code, _, err := c.Call(n, http.MethodGet, "/v1/ready", nil)
			if err != nil || code != http.StatusOK {
				notReady = append(notReady, fmt.Sprintf("%s: ready %d %v", n.ID, code, err))
				continue
			}
			if a := QueryA(cl, n.DNS, "www.example.test"); a.String() != Answer(0) {
				notReady = append(notReady, fmt.Sprintf("%s: answers %s", n.ID, a))
			}
		}
		if len(notReady) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("chaos: not ready after %s: %s", timeout, strings.Join(notReady, "; "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
