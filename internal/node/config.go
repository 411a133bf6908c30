// Package node wires one detour node together: its settings, the DNS
// server, the controller and the HTTP API, started in dependency order and
// stopped in reverse.
package node

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/netguard"
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
	// Raft tunes Raft and observer timeouts; zero values take the
	// defaults (controller.DefaultTiming).
	Raft RaftSettings `yaml:"raft"`
	// Timing is the same for tests, set directly; Raft's non-zero values
	// win over it.
	Timing controller.Timing `yaml:"-"`
	// Dev runs one node, plaintext, on loopback, data in a temp dir.
	Dev bool `yaml:"-"`

	// Health checks (security). CheckAllowNetworks lists networks (CIDR)
	// that checks may probe although they are refused by default:
	// loopback, link-local, cloud metadata, unspecified and multicast
	// (spec.ForbiddenTarget). Empty allows none; --dev allows loopback
	// unless it is set.
	CheckAllowNetworks []string `yaml:"check_allow_networks"`

	// Web hardening: the API's browser and token guards and the public
	// status page (docs/security.md).

	// APINames are the host names clients reach the API by, beside its
	// listen address and loopback: a node without tokens refuses a
	// request for any other Host (DNS rebinding).
	APINames []string `yaml:"api_names"`
	// APIAuthFailures is how many failed authentications one source
	// address may make within APIAuthWindow before it is answered 429
	// until the window ends; 0 means api.DefaultAuthFailures.
	APIAuthFailures int `yaml:"api_auth_failures"`
	// APIAuthWindow is that window; 0 means api.DefaultAuthWindow.
	APIAuthWindow spec.Duration `yaml:"api_auth_window"`
	// StatusURL is the status page's public URL, e.g.
	// https://status.example.com/: the Atom feed's links. Empty makes
	// them relative; the Host header is never used.
	StatusURL string `yaml:"status_url"`
	// StatusNodeLabel is what the status page's footer calls this node;
	// empty names none, so node IDs stay private.
	StatusNodeLabel string `yaml:"status_node_label"`

	// Notifications (security). NotifyAllowNetworks lists networks (CIDR)
	// that notification channels (webhook, Slack, PagerDuty, SMTP) may
	// connect to although they are refused by default, as for checks:
	// loopback, link-local, cloud metadata, unspecified and multicast
	// (spec.ForbiddenTarget). Empty allows none; --dev allows loopback
	// unless it is set.
	NotifyAllowNetworks []string `yaml:"notify_allow_networks"`

	// Halting and storage failures (sec-clock). SkipEntries are Raft
	// log indexes this node does not apply: the repair of a node halted
	// at an entry it cannot apply (docs/cluster.md, --skip-entry).
	SkipEntries []uint64 `yaml:"skip_entries"`

	// What a spec may make this node reach (security: spec secrets and
	// provider endpoints). SpecEnvPrefixes are the prefixes of the
	// environment variables a spec's providers and TSIG keys may name
	// (api_token_env, tsig_secret_env, zones' secret_env), less those
	// under CheckEnvPrefixes and NotifyEnvPrefixes; empty means DETOUR_. ProviderBaseURLs are the base_url values a spec's
	// providers may call besides their official endpoint: URLs (the
	// paths below them match too) or host[:port]; empty means none.
	SpecEnvPrefixes  []string `yaml:"spec_env_prefixes"`
	ProviderBaseURLs []string `yaml:"provider_base_urls"`

	// DNS abuse limits: response rate limiting and TCP connection
	// limits of the DNS server (see DNSLimits).
	DNSLimits DNSLimits `yaml:"dns_limits"`

	// Which variable a spec may name for which use (security: spec
	// secrets by use). CheckEnvPrefixes are the prefixes of the
	// variables a check's headers_env may name; empty means
	// DETOUR_CHECK_. NotifyEnvPrefixes are those of notification
	// secrets (secret_env, routing_key_env, smtp.password_env); empty
	// means DETOUR_NOTIFY_. A variable under either serves only that
	// use: providers and TSIG keys (SpecEnvPrefixes) may not name it,
	// so a provider's token never goes out in a check header or a
	// notification. The two must not overlap.
	CheckEnvPrefixes  []string `yaml:"check_env_prefixes"`
	NotifyEnvPrefixes []string `yaml:"notify_env_prefixes"`

	// DNS NSID (RFC 5001): what the DNS server answers a query that asks
	// which server it reached. Empty means the node ID; "off" sends
	// none; anything else is sent as it is (at most 128 bytes).
	NSID string `yaml:"nsid"`

	// API resource limits (sec-limits): how long a request sending a
	// spec (diff, drill, apply) waits for another spec's parse before it
	// is answered 429; 0 means api.DefaultSpecWait (2s).
	APISpecWait spec.Duration `yaml:"api_spec_wait"`

	// DNS peers (security: sec-dnspeers). DNSPeerAllowNetworks lists
	// networks (CIDR) that NOTIFY (also_notify) and RFC 2136 providers'
	// servers may be in although refused by default, as for checks:
	// loopback, link-local, cloud metadata, unspecified and multicast
	// (spec.ForbiddenTarget). Empty allows none; --dev allows loopback
	// unless it is set.
	DNSPeerAllowNetworks []string `yaml:"dns_peer_allow_networks"`

	// Minority mode (members): a node with no leader contact for longer
	// than MinorityAfter (0: raft.observer_stale_after) is cut off: it
	// reports not ready and answers by MinorityMode: "local" (default:
	// from its own health checks), "last" (the cluster's last answers)
	// or "servfail".
	MinorityAfter spec.Duration `yaml:"minority_after"`
	MinorityMode  string        `yaml:"minority_mode"`

	// Logs (ops): LogFormat is how the agent writes its log on stderr:
	// "text" (default, logfmt-like) or "json" (one object a line).
	// hashicorp/raft's lines go through the same logger.
	LogFormat string `yaml:"log_format"`
	// Geo steering (geo): how often the spec's geoip.database file is
	// checked for a change (0: 5s).
	GeoIPPoll spec.Duration `yaml:"geoip_poll"`
	// Big specs (scale): MaxSpecUpload bounds, in bytes, a spec request
	// an admin token sends gzip-compressed (`detour spec apply` does past
	// 1 MiB), compressed and decompressed alike. 0 means
	// api.DefaultMaxSpecUpload (65 MiB: the largest spec a node takes);
	// a negative value refuses compressed uploads.
	MaxSpecUpload int64 `yaml:"max_spec_upload"`

	// DNSSEC (dnssec): the directory holding the zones' signing keys,
	// K<zone>+<alg>+<tag>.key and .private as `detour dnssec keygen`
	// writes them, the same files on every node; empty means
	// <data_dir>/dnssec. It must be closed to group and others (0700).
	DNSSECKeyDir string `yaml:"dnssec_key_dir"`

	// WAN timing (chaosA): the longest round trip between the nodes,
	// jitter included. When set, the Raft timeouts (and the observer
	// staleness, minority_after's default) that raft: leaves unset
	// derive from it (controller.WANTiming); 0 keeps the defaults, made
	// for round trips up to about 150 ms.
	WANRTT spec.Duration `yaml:"wan_rtt"`

	// Deps are what the node is given rather than told: listeners,
	// dialers, clocks and hooks (tests, the demo). No node file or flag
	// sets them.
	Deps `yaml:"-"`
}

// ErrNodeFile means the node file has keys or values it cannot take; the
// settings LoadFile returns with it hold the rest of the file.
var ErrNodeFile = errors.New("node file")

// LoadFile reads a node file strictly (unknown keys are errors). With
// unknown keys or values of the wrong type, it returns the other settings
// with an error wrapping ErrNodeFile that lists them all, so that Check
// can report the rest in the same round.
func LoadFile(path string) (Config, error) {
	var c Config
	data, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("node config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return c, fmt.Errorf("%w %s:\n  %s", ErrNodeFile, path, strings.Join(friendlyFileErrors(te.Errors), "\n  "))
		}
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
	if c.WANRTT > 0 && t == (controller.Timing{}) {
		t = controller.WANTiming(c.WANRTT.D())
	}
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

// Validate checks the settings and reports every problem. Start also
// checks the files they name (see preflight).
func (c *Config) Validate() error { return configError(c.problems()) }

// problems lists what is wrong with the settings.
func (c *Config) problems() []error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
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
		if name != "--dns-addr" && name != "--status-addr" {
			c.checkPlaintext(add, name, v, host)
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
	if c.Dev && c.RaftAddr != "" {
		checkAddr("--raft-addr", c.RaftAddr, false)
	}
	checkAddr("--dns-addr", c.DNSAddr, true)
	checkAddr("--api-addr", c.APIAddr, true)
	checkAddr("--status-addr", c.StatusAddr, false)
	if c.Spec == "" && c.Dev {
		add("--spec is required")
	}
	c.DNSLimits.validate(add)
	c.validateNSID(add)
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
	if _, err := c.checkAllowNetworks(); err != nil {
		add("%v", err)
	}
	if !controller.ValidMinorityMode(c.MinorityMode) {
		add("minority_mode %q: want local, last or servfail", c.MinorityMode)
	}
	if c.MinorityAfter < 0 {
		add("minority_after %s: want a positive duration, or 0 for raft.observer_stale_after", c.MinorityAfter.D())
	}
	c.validateWeb(add)
	if _, err := c.dnsPeerAllowNetworks(); err != nil {
		add("%v", err)
	}
	if _, err := c.notifyAllowNetworks(); err != nil {
		add("%v", err)
	}
	if err := c.envPolicy().Validate(); err != nil {
		add("%v", err)
	}
	return problems
}

// checkPlaintext refuses plaintext where the operator did not ask for it:
// off loopback without --insecure, --dev included, and on the node port
// even on loopback (any local process could drive the cluster through it)
// unless this is --dev or --insecure.
func (c *Config) checkPlaintext(add func(string, ...any), name, v, host string) {
	if c.Insecure || c.hasTLS() {
		return
	}
	switch {
	case !api.IsLoopback(host) && c.Dev:
		add("%s %q is not on loopback: --dev serves plaintext on loopback only; give --insecure to serve plaintext there, or --tls-ca, --tls-cert and --tls-key", name, v)
	case !api.IsLoopback(host):
		add("%s %q is not on loopback: plaintext needs --insecure, or give --tls-ca, --tls-cert and --tls-key", name, v)
	case name == "--raft-addr" && !c.Dev:
		add("%s %q: a node port without TLS takes commands from any local process; give --tls-ca, --tls-cert and --tls-key, or --insecure to run it in plaintext on loopback", name, v)
	}
}

// validateWeb checks the API's guards and the status page's settings.
func (c *Config) validateWeb(add func(format string, args ...any)) {
	if c.APIAuthFailures < 0 {
		add("api_auth_failures %d: want a count of failures, or 0 for the default", c.APIAuthFailures)
	}
	if c.APISpecWait < 0 {
		add("api_spec_wait %s: want a positive duration, or 0 for the default", c.APISpecWait.D())
	}
	if c.APIAuthWindow < 0 {
		add("api_auth_window %s: want a positive duration, or 0 for the default", c.APIAuthWindow.D())
	}
	if c.StatusURL != "" {
		u, err := url.Parse(c.StatusURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("status_url %q: want the page's public URL, e.g. https://status.example.com/", c.StatusURL)
		}
	}
	for _, n := range c.APINames {
		if strings.TrimSpace(n) == "" || strings.ContainsAny(n, "/ ") {
			add("api_names: %q is not a host name", n)
		}
	}
}

func (c *Config) hasTLS() bool { return c.TLSCA != "" && c.TLSCert != "" && c.TLSKey != "" }

// LoopbackNetworks are what --dev, the demo and the test harnesses allow
// checks to probe: their sites listen on loopback.
var LoopbackNetworks = []string{"127.0.0.0/8", "::1/128"}

// allowNetworks parses one of the allow-network settings (checks,
// notifications, DNS peers); under --dev, unset means loopback.
func (c *Config) allowNetworks(setting string, nets []string) ([]netip.Prefix, error) {
	if nets == nil && c.Dev {
		nets = LoopbackNetworks
	}
	return netguard.ParseNetworks(setting, nets)
}

func (c *Config) checkAllowNetworks() ([]netip.Prefix, error) {
	return c.allowNetworks("check_allow_networks", c.CheckAllowNetworks)
}

func (c *Config) dnsPeerAllowNetworks() ([]netip.Prefix, error) {
	return c.allowNetworks("dns_peer_allow_networks", c.DNSPeerAllowNetworks)
}
