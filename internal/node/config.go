// Package node wires one detour node together: its settings, the DNS
// server, the controller and the HTTP API, started in dependency order and
// stopped in reverse.
package node

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/spec"
	"gopkg.in/yaml.v3"
)

// Dev-mode defaults (contract.md).
const (
	DevDNSAddr  = "127.0.0.1:5353"
	DevAPIAddr  = "127.0.0.1:8053"
	DevSpecPath = "examples/dev/spec.yaml"
)

// ErrConfig means the node's settings are invalid; the error lists every
// problem.
var ErrConfig = errors.New("invalid node settings")

// Peer is an initial voter: id@raft-address.
type Peer struct {
	ID      string `yaml:"id"`
	Address string `yaml:"address"`
}

func (p Peer) String() string { return p.ID + "@" + p.Address }

// Config holds a node's settings, from a node file, flags, or both (flags
// win).
type Config struct {
	NodeID     string `yaml:"node_id"`
	Datacenter string `yaml:"datacenter"`
	RaftAddr   string `yaml:"raft_addr"`
	Peers      []Peer `yaml:"peers"`
	DNSAddr    string `yaml:"dns_addr"`
	APIAddr    string `yaml:"api_addr"`
	// StatusAddr is where the public status page listens; empty means
	// no status page.
	StatusAddr string `yaml:"status_addr"`
	DataDir    string `yaml:"data_dir"`
	Spec       string `yaml:"spec"`
	Insecure   bool   `yaml:"insecure"`
	TLSCA      string `yaml:"tls_ca"`
	TLSCert    string `yaml:"tls_cert"`
	TLSKey     string `yaml:"tls_key"`
	// APITokens is a file of bearer tokens with scopes (see docs/api.md);
	// Tokens adds more (the agent reads DETOUR_API_TOKENS into it).
	APITokens string      `yaml:"api_tokens"`
	Tokens    *api.Tokens `yaml:"-"`
	// APIExtra adds routes to the API (the demo's controls).
	APIExtra map[string]http.Handler `yaml:"-"`
	// Raft tunes Raft and observer timeouts; zero values take the
	// defaults (controller.DefaultTiming).
	Raft RaftSettings `yaml:"raft"`
	// Timing is the same for tests, set directly; Raft's non-zero values
	// win over it.
	Timing controller.Timing `yaml:"-"`
	// Dev runs one node, plaintext, on loopback, data in a temp dir.
	Dev bool `yaml:"-"`

	// DNS abuse limits: response rate limiting and TCP connection
	// limits of the DNS server (see DNSLimits).
	DNSLimits DNSLimits `yaml:"dns_limits"`

	// For tests: the node port's listener and dialer (fault injection)
	// and the address health probes leave from.
	Listener net.Listener        `yaml:"-"`
	Dial     controller.DialFunc `yaml:"-"`
	SourceIP net.IP              `yaml:"-"`
}

// LoadFile reads a node file strictly (unknown keys are errors).
func LoadFile(path string) (Config, error) {
	var c Config
	data, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("node config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("node config %s: %w", path, err)
	}
	return c, nil
}

// ParsePeers parses "id@host:port,id@host:port".
func ParsePeers(s string) ([]Peer, error) {
	var out []Peer
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, addr, ok := strings.Cut(item, "@")
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("peer %q: want id@host:port, e.g. us-east-1@10.0.0.1:7001", item)
		}
		out = append(out, Peer{ID: id, Address: addr})
	}
	return out, nil
}

// RaftSettings are the node file's `raft:` keys and the --raft-* flags.
type RaftSettings struct {
	HeartbeatTimeout   spec.Duration `yaml:"heartbeat_timeout"`
	ElectionTimeout    spec.Duration `yaml:"election_timeout"`
	LeaderLeaseTimeout spec.Duration `yaml:"leader_lease_timeout"`
	CommitTimeout      spec.Duration `yaml:"commit_timeout"`
	// ObserverStaleAfter is how long an observer may stay silent before
	// its verdicts stop counting.
	ObserverStaleAfter spec.Duration `yaml:"observer_stale_after"`
	// ReportInterval is how often each observer reports without a change.
	ReportInterval spec.Duration `yaml:"report_interval"`
}

// timing merges the settings over t and the defaults.
func (c *Config) timing() controller.Timing {
	t := c.Timing
	set := func(dst *time.Duration, v spec.Duration) {
		if v > 0 {
			*dst = v.D()
		}
	}
	set(&t.HeartbeatTimeout, c.Raft.HeartbeatTimeout)
	set(&t.ElectionTimeout, c.Raft.ElectionTimeout)
	set(&t.LeaderLeaseTimeout, c.Raft.LeaderLeaseTimeout)
	set(&t.CommitTimeout, c.Raft.CommitTimeout)
	set(&t.StaleAfter, c.Raft.ObserverStaleAfter)
	set(&t.ReportInterval, c.Raft.ReportInterval)
	return t.WithDefaults()
}

// DevTiming elects a cluster of one at once: there is no WAN to allow for.
var DevTiming = controller.Timing{
	HeartbeatTimeout:   100 * time.Millisecond,
	ElectionTimeout:    100 * time.Millisecond,
	LeaderLeaseTimeout: 50 * time.Millisecond,
	CommitTimeout:      5 * time.Millisecond,
}

// ApplyDevDefaults fills what --dev leaves unset.
func (c *Config) ApplyDevDefaults() {
	if c.Timing == (controller.Timing{}) {
		c.Timing = DevTiming
	}
	if c.NodeID == "" {
		c.NodeID = "dev"
	}
	if c.Datacenter == "" {
		c.Datacenter = "dev"
	}
	if c.DNSAddr == "" {
		c.DNSAddr = DevDNSAddr
	}
	if c.APIAddr == "" {
		c.APIAddr = DevAPIAddr
	}
	if c.Spec == "" {
		c.Spec = DevSpecPath
	}
}

// Validate checks the settings and reports every problem.
func (c *Config) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	checkAddr := func(name, v string, required bool) {
		if v == "" {
			if required {
				add("%s is required", name)
			}
			return
		}
		host, port, err := net.SplitHostPort(v)
		if err != nil {
			add("%s %q: want host:port, e.g. 127.0.0.1:5353", name, v)
			return
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			add("%s %q: port %q is out of range 0-65535", name, v, port)
		}
		if !c.Dev && !c.Insecure && !c.hasTLS() && !api.IsLoopback(host) && name != "--dns-addr" && name != "--status-addr" {
			add("%s %q is not on loopback: plaintext needs --insecure, or give --tls-ca, --tls-cert and --tls-key", name, v)
		}
	}
	if !c.Dev {
		if c.NodeID == "" {
			add("--node-id is required (or run --dev)")
		}
		if c.Datacenter == "" {
			add("--datacenter is required: the datacenter this node runs in")
		}
		checkAddr("--raft-addr", c.RaftAddr, true)
		if len(c.Peers) == 0 {
			add("--peers is required: the initial voters as id@raft-address, this node included")
		}
		if c.DataDir == "" {
			add("--data-dir is required: where Raft keeps its log and snapshots")
		}
		// A node not among --peers joins an existing cluster when a
		// member adds it (detour members add).
		seen := map[string]bool{}
		for _, p := range c.Peers {
			if seen[p.ID] {
				add("--peers lists %q twice", p.ID)
			}
			seen[p.ID] = true
			if _, _, err := net.SplitHostPort(p.Address); err != nil {
				add("--peers: %s: want id@host:port", p)
			}
			if p.ID == c.NodeID {
				if c.RaftAddr != "" && p.Address != c.RaftAddr {
					add("--peers gives %s for this node, but --raft-addr is %s", p, c.RaftAddr)
				}
			}
		}
		tls := []string{c.TLSCA, c.TLSCert, c.TLSKey}
		set := 0
		for _, v := range tls {
			if v != "" {
				set++
			}
		}
		if set > 0 && set < 3 {
			add("TLS needs all of --tls-ca, --tls-cert and --tls-key (%d of 3 given)", set)
		}
	}
	checkAddr("--dns-addr", c.DNSAddr, true)
	checkAddr("--api-addr", c.APIAddr, true)
	checkAddr("--status-addr", c.StatusAddr, false)
	if c.Spec == "" && c.Dev {
		add("--spec is required")
	}
	c.DNSLimits.validate(add)
	t := c.timing()
	if t.LeaderLeaseTimeout > t.HeartbeatTimeout {
		add("--raft-leader-lease %s must not exceed --raft-heartbeat-timeout %s", t.LeaderLeaseTimeout, t.HeartbeatTimeout)
	}
	if t.CommitTimeout >= t.HeartbeatTimeout {
		add("--raft-commit-timeout %s must be below --raft-heartbeat-timeout %s", t.CommitTimeout, t.HeartbeatTimeout)
	}
	if t.StaleAfter <= t.ReportInterval {
		add("raft.observer_stale_after %s must exceed raft.report_interval %s, or every observer goes stale", t.StaleAfter, t.ReportInterval)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w:\n  %s", ErrConfig, strings.Join(problems, "\n  "))
	}
	return nil
}

func (c *Config) hasTLS() bool { return c.TLSCA != "" && c.TLSCert != "" && c.TLSKey != "" }
