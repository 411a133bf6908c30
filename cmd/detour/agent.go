package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/logging"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/spec"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// agentFlags are the agent's own flags, beside the node settings bound to
// cfg.
type agentFlags struct {
	cfg        node.Config
	configFile string
	logLevel   string
}

func newAgentCmd() *cobra.Command {
	var a agentFlags
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a detour node",
		Long: `Run a detour node: an authoritative DNS server for the spec's zones.

  detour agent --dev [--spec FILE]     one node, plaintext on loopback, data in a temp dir
  detour agent --config node.yaml      a production node
  detour agent --node-id ID --datacenter DC --raft-addr HOST:PORT --peers ID@HOST:PORT,...
               --dns-addr HOST:PORT --api-addr HOST:PORT --data-dir DIR --spec FILE [--insecure]`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
				return usageError{err}
			}
			final, problems, err := a.settings(cmd)
			if err != nil {
				return err
			}
			logger, err := logging.New(cmd.ErrOrStderr(), final.LogFormat, level)
			if err != nil {
				problems = append(problems, fmt.Errorf("--log-format: %w", err))
				logger, _ = logging.New(cmd.ErrOrStderr(), logging.FormatText, level)
			}
			if len(problems) > 0 {
				// With the node's own checks: every problem in one round.
				return errors.Join(append(problems, node.Check(final, logger))...)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := applyTestClockSkew(&final, logger); err != nil {
				return err
			}
			n, err := node.Start(final, logger)
			if err != nil {
				return err
			}
			<-ctx.Done()
			logger.Info("shutting down")
			return n.Close(context.Background())
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.configFile, "config", "", "node file (YAML) with the settings below; flags given on the command line override it")
	f.StringVar(&a.logLevel, "log-level", "info", "debug, info, warn or error")
	bindNodeFlags(f, &a.cfg)
	return cmd
}

// settings are the node's settings: the flags, or with --config the node
// file with every flag given on the command line over it. The flags are
// declared once (bindNodeFlags); a second binding of the same flags to the
// file's settings takes each given flag's value, so none can be dropped.
// Problems are what the node's own checks should report with theirs; err
// is a file that could not be read at all.
func (a *agentFlags) settings(cmd *cobra.Command) (final node.Config, problems []error, err error) {
	final = a.cfg
	if a.configFile != "" {
		if final, err = overNodeFile(cmd.Flags(), a.configFile); errors.Is(err, node.ErrNodeFile) {
			problems = append(problems, err)
		} else if err != nil {
			return final, nil, err
		}
	}
	if env := os.Getenv("DETOUR_API_TOKENS"); env != "" {
		t, err := api.ParseTokensEnv(env)
		if err != nil {
			problems = append(problems, err)
		}
		final.Tokens = t
	}
	return final, problems, nil
}

// overNodeFile reads the node file at path and sets over it every node
// flag given in given.
func overNodeFile(given *pflag.FlagSet, path string) (node.Config, error) {
	var cfg node.Config
	file := pflag.NewFlagSet("node file", pflag.ContinueOnError)
	bindNodeFlags(file, &cfg) // binding writes the zero defaults: before the file
	loaded, err := node.LoadFile(path)
	if err != nil && !errors.Is(err, node.ErrNodeFile) {
		return cfg, err
	}
	cfg = loaded // same address: file's flags now write into the file's settings
	errs := []error{err}
	given.Visit(func(fl *pflag.Flag) {
		dst := file.Lookup(fl.Name)
		if dst == nil {
			return // not a node setting: --config, --log-level
		}
		if err := copyFlag(dst.Value, fl.Value); err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", fl.Name, err))
		}
	})
	return cfg, errors.Join(errs...)
}

// copyFlag sets dst to src's value: a list replaces, never appends to,
// the file's.
func copyFlag(dst, src pflag.Value) error {
	if s, ok := src.(pflag.SliceValue); ok {
		if d, ok := dst.(pflag.SliceValue); ok {
			return d.Replace(s.GetSlice())
		}
	}
	return dst.Set(src.String())
}

// bindNodeFlags declares every node setting's flag, bound to its field in
// cfg: the one place a setting gets its flag.
func bindNodeFlags(f *pflag.FlagSet, cfg *node.Config) {
	f.BoolVar(&cfg.Dev, "dev", false, "one node, plaintext on loopback, data in a temp dir")
	f.StringVar(&cfg.NodeID, "node-id", "", "this node's ID, unique in the cluster")
	f.StringVar(&cfg.Datacenter, "datacenter", "", "the datacenter this node runs in")
	f.StringVar(&cfg.RaftAddr, "raft-addr", "", "address for Raft and node-to-node traffic, host:port")
	f.Var((*peersValue)(&cfg.Peers), "peers", "initial voters, id@raft-address,... (this node included)")
	f.StringVar(&cfg.DNSAddr, "dns-addr", "", "DNS address, UDP and TCP (--dev: "+node.DevDNSAddr+")")
	f.StringVar(&cfg.APIAddr, "api-addr", "", "HTTP API address (--dev: "+node.DevAPIAddr+")")
	f.StringVar(&cfg.StatusAddr, "status-addr", "", "public status page address, host:port (empty: no status page)")
	f.StringVar(&cfg.DataDir, "data-dir", "", "where Raft keeps its state (--dev: a temp dir)")
	f.StringVar(&cfg.Spec, "spec", "", "spec that seeds an empty cluster (--dev: "+node.DevSpecPath+")")
	f.BoolVar(&cfg.Insecure, "insecure", false, "allow a plaintext node port (Raft and forwarding) even on loopback, and a plaintext API off loopback")
	f.StringVar(&cfg.TLSCA, "tls-ca", "", "CA certificate (PEM) for node-to-node and API TLS")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "this node's certificate (PEM)")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "this node's private key (PEM)")
	f.StringVar(&cfg.APITokens, "api-tokens", "", "file of API bearer tokens with scopes (also: env DETOUR_API_TOKENS=name:scope:token,...)")
	// Health checks (security).
	f.Var((*listValue)(&cfg.CheckAllowNetworks), "check-allow-networks", "networks (CIDR, comma-separated) checks may probe although refused by default: loopback, link-local, cloud metadata (--dev: loopback)")
	// Spec secrets and provider endpoints (security).
	f.StringSliceVar(&cfg.SpecEnvPrefixes, "spec-env-prefix", nil, "prefix of the environment variables a spec's providers and TSIG keys may name, less those under --check-env-prefix and --notify-env-prefix, repeatable (default "+spec.DefaultEnvPrefix+")")
	f.StringSliceVar(&cfg.ProviderBaseURLs, "provider-base-url", nil, "a base_url (URL or host[:port]) the spec's providers may call besides their official endpoint, repeatable (default: none)")
	raftFlags(f, &cfg.Raft)
	webFlags(f, cfg)
	// Notifications (security).
	f.Var((*listValue)(&cfg.NotifyAllowNetworks), "notify-allow-networks", "networks (CIDR, comma-separated) notification channels may reach although refused by default: loopback, link-local, cloud metadata (--dev: loopback)")

	// Halting and storage failures (sec-clock).
	f.Var((*indexList)(&cfg.SkipEntries), "skip-entry", "Raft log index this node must not apply: the repair of a node halted at an entry it cannot apply (see /v1/ready and docs/cluster.md); repeatable")

	// DNS abuse limits.
	dnsLimitFlags(f, &cfg.DNSLimits)

	// Spec secrets by use (security).
	f.StringSliceVar(&cfg.CheckEnvPrefixes, "check-env-prefix", nil, "prefix of the environment variables a check's headers_env may name, and nothing else, repeatable (default "+spec.DefaultCheckEnvPrefix+")")
	f.StringSliceVar(&cfg.NotifyEnvPrefixes, "notify-env-prefix", nil, "prefix of the environment variables a notification's secrets may name, and nothing else, repeatable (default "+spec.DefaultNotifyEnvPrefix+")")
	// DNS NSID.
	f.StringVar(&cfg.NSID, "nsid", "", "NSID the DNS server sends to queries asking for it (RFC 5001; default: the node ID; \"off\": none)")
	// DNS peers (sec-dnspeers).
	f.Var((*listValue)(&cfg.DNSPeerAllowNetworks), "dns-peer-allow-networks", "networks (CIDR, comma-separated) NOTIFY targets and RFC 2136 servers may be in although refused by default: loopback, link-local, cloud metadata (--dev: loopback)")
	// Minority mode: a node cut off from the leader.
	durationFlag(f, &cfg.MinorityAfter, "minority-after", "how long without leader contact before this node counts itself cut off (default: --raft-observer-stale-after)")
	f.StringVar(&cfg.MinorityMode, "minority-mode", "", "what a cut-off node answers: local (from its own checks, default), last (the cluster's last answers) or servfail")
	// Logs (ops).
	f.StringVar(&cfg.LogFormat, "log-format", "", "log format on stderr: text (default) or json, one object a line")
	// Geo steering.
	durationFlag(f, &cfg.GeoIPPoll, "geoip-poll", "how often the spec's geoip.database file is checked for a change (default 5s)")
	// DNSSEC (dnssec).
	f.StringVar(&cfg.DNSSECKeyDir, "dnssec-key-dir", "", "directory of the zones' DNSSEC keys, the same files on every node, mode 0700 (default: <data-dir>/dnssec; see docs/security.md)")
	// WAN timing (chaosA).
	durationFlag(f, &cfg.WANRTT, "wan-rtt", "longest round trip between the nodes, jitter included: the --raft-* timeouts left unset derive from it (see docs/cluster.md, failover timing; default: none, for round trips up to ~150ms)")
}

// raftFlags are the node file's raft: keys.
func raftFlags(f *pflag.FlagSet, r *node.RaftSettings) {
	durationFlag(f, &r.HeartbeatTimeout, "raft-heartbeat-timeout", "how long without the leader before an election (default 500ms; raise on links slower than ~150 ms round trip)")
	durationFlag(f, &r.ElectionTimeout, "raft-election-timeout", "how long a candidate waits for votes (default 500ms)")
	durationFlag(f, &r.LeaderLeaseTimeout, "raft-leader-lease", "how long a leader leads without hearing a majority (default 500ms)")
	durationFlag(f, &r.CommitTimeout, "raft-commit-timeout", "longest wait before replicating a commit (default 50ms)")
	durationFlag(f, &r.ObserverStaleAfter, "raft-observer-stale-after", "how long an observer may stay silent before its verdicts stop counting (default 4s)")
	durationFlag(f, &r.ReportInterval, "raft-report-interval", "how often each observer reports without a change (default 1s)")
}

// webFlags are the API's browser and token guards and the status page's
// public settings.
func webFlags(f *pflag.FlagSet, cfg *node.Config) {
	f.StringSliceVar(&cfg.APINames, "api-names", nil, "host names the API is reached by, beside its address and loopback (a node without tokens refuses others)")
	f.IntVar(&cfg.APIAuthFailures, "api-auth-failures", 0, fmt.Sprintf("unknown tokens one address may send per --api-auth-window before it gets 429 (default %d)", api.DefaultAuthFailures))
	durationFlag(f, &cfg.APIAuthWindow, "api-auth-window", fmt.Sprintf("window for --api-auth-failures (default %s)", api.DefaultAuthWindow))
	f.StringVar(&cfg.StatusURL, "status-url", "", "the status page's public URL, for the Atom feed's links (default: relative links)")
	f.StringVar(&cfg.StatusNodeLabel, "status-node-label", "", "what the status page's footer calls this node (default: nothing)")
	// API resource limits (sec-limits).
	durationFlag(f, &cfg.APISpecWait, "api-spec-wait", fmt.Sprintf("how long a request sending a spec waits for another spec's parse before it gets 429 (default %s)", api.DefaultSpecWait))
	// Big specs (scale).
	f.Int64Var(&cfg.MaxSpecUpload, "max-spec-upload", 0, fmt.Sprintf("largest gzip-compressed spec request an admin token may send, in bytes, compressed or decompressed (default %d; negative: none)", api.DefaultMaxSpecUpload))
}

// durationFlag binds a Go-syntax duration flag to a spec.Duration.
func durationFlag(f *pflag.FlagSet, dst *spec.Duration, name, usage string) {
	f.Var((*durationValue)(dst), name, usage)
}

type durationValue spec.Duration

func (d *durationValue) String() string {
	if *d == 0 {
		return ""
	}
	return time.Duration(*d).String()
}

func (d *durationValue) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return fmt.Errorf("want a positive duration such as 500ms or 1s")
	}
	*d = durationValue(v)
	return nil
}

func (d *durationValue) Type() string { return "duration" }

// indexList is a repeatable flag of Raft log indexes.
type indexList []uint64

func (l *indexList) String() string { return strings.Join(l.GetSlice(), ",") }

func (l *indexList) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		i, err := strconv.ParseUint(strings.TrimSpace(part), 10, 64)
		if err != nil || i == 0 {
			return fmt.Errorf("want a Raft log index such as 1234 (from /v1/ready or the log), got %q", part)
		}
		*l = append(*l, i)
	}
	return nil
}

func (l *indexList) Type() string { return "index" }

// GetSlice implements pflag.SliceValue.
func (l *indexList) GetSlice() []string {
	out := make([]string, 0, len(*l))
	for _, i := range *l {
		out = append(out, strconv.FormatUint(i, 10))
	}
	return out
}

// Replace implements pflag.SliceValue.
func (l *indexList) Replace(v []string) error {
	*l = nil
	for _, s := range v {
		if err := l.Set(s); err != nil {
			return err
		}
	}
	return nil
}

// Append implements pflag.SliceValue.
func (l *indexList) Append(v string) error { return l.Set(v) }

// DNS abuse limits: the --dns-rate-limit* and --dns-tcp-* flags.

func dnsLimitFlags(f *pflag.FlagSet, l *node.DNSLimits) {
	f.IntVar(&l.RateLimit, "dns-rate-limit", 0, "UDP responses per second per client network (/24, /56) and response class (0: 20; -1: off; --dev: off)")
	f.IntVar(&l.Slip, "dns-rate-limit-slip", 0, "send every Nth rate-limited response truncated, so real clients retry over TCP (0: 2; -1: never)")
	f.StringSliceVar(&l.Exempt, "dns-rate-limit-exempt", nil, "client networks never rate limited, CIDR,...")
	durationFlag(f, &l.TCPIdleTimeout, "dns-tcp-idle-timeout", "close a DNS TCP connection idle this long (default 5s)")
	durationFlag(f, &l.TCPIOTimeout, "dns-tcp-io-timeout", "time to finish reading a query once begun, and to write a reply (default 500ms)")
	f.IntVar(&l.TCPMaxConns, "dns-tcp-max-conns", 0, "open DNS TCP connections at most (0: 1024)")
	f.IntVar(&l.TCPMaxConnsPerIP, "dns-tcp-max-conns-per-ip", 0, "open DNS TCP connections per client address at most (0: 16)")
}

// peersValue is the --peers flag: id@host:port,...
type peersValue []node.Peer

func (p *peersValue) String() string {
	out := make([]string, 0, len(*p))
	for _, v := range *p {
		out = append(out, v.String())
	}
	return strings.Join(out, ",")
}

func (p *peersValue) Set(s string) error {
	ps, err := node.ParsePeers(s)
	if err != nil {
		return err
	}
	*p = ps
	return nil
}

func (p *peersValue) Type() string { return "peers" }

// GetSlice implements pflag.SliceValue.
func (p *peersValue) GetSlice() []string { return strings.Split(p.String(), ",") }

// Replace implements pflag.SliceValue.
func (p *peersValue) Replace(v []string) error { return p.Set(strings.Join(v, ",")) }

// Append implements pflag.SliceValue.
func (p *peersValue) Append(v string) error {
	ps, err := node.ParsePeers(v)
	*p = append(*p, ps...)
	return err
}

// listValue is a comma-separated list flag; an empty value is an empty,
// not a missing, list (--check-allow-networks "" allows none under --dev).
type listValue []string

func (l *listValue) String() string { return strings.Join(*l, ",") }

func (l *listValue) Set(s string) error {
	out := []string{}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	*l = out
	return nil
}

func (l *listValue) Type() string { return "list" }

// GetSlice implements pflag.SliceValue.
func (l *listValue) GetSlice() []string { return append([]string{}, *l...) }

// Replace implements pflag.SliceValue.
func (l *listValue) Replace(v []string) error { *l = append([]string{}, v...); return nil }

// Append implements pflag.SliceValue.
func (l *listValue) Append(v string) error { *l = append(*l, v); return nil }
