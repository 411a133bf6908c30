package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/spec"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newAgentCmd() *cobra.Command {
	var (
		cfg        node.Config
		configFile string
		peers      string
		logLevel   string
		checkNets  string
		notifyNets string
		// DNS peers (sec-dnspeers).
		dnsPeerNets string
	)
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
			final := cfg
			if configFile != "" {
				fileCfg, err := node.LoadFile(configFile)
				if err != nil {
					return err
				}
				final = mergeFlags(cmd, fileCfg, cfg)
			}
			overlay(cmd, "check-allow-networks", &final.CheckAllowNetworks, splitList(checkNets))
			overlay(cmd, "notify-allow-networks", &final.NotifyAllowNetworks, splitList(notifyNets))
			overlay(cmd, "dns-peer-allow-networks", &final.DNSPeerAllowNetworks, splitList(dnsPeerNets))
			if peers != "" {
				ps, err := node.ParsePeers(peers)
				if err != nil {
					return usageError{err}
				}
				final.Peers = ps
			}
			if env := os.Getenv("DETOUR_API_TOKENS"); env != "" {
				t, err := api.ParseTokensEnv(env)
				if err != nil {
					return err
				}
				final.Tokens = t
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return usageError{err}
			}
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
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
	f.StringVar(&configFile, "config", "", "node file (YAML) with the settings below; flags override it")
	f.BoolVar(&cfg.Dev, "dev", false, "one node, plaintext on loopback, data in a temp dir")
	f.StringVar(&cfg.NodeID, "node-id", "", "this node's ID, unique in the cluster")
	f.StringVar(&cfg.Datacenter, "datacenter", "", "the datacenter this node runs in")
	f.StringVar(&cfg.RaftAddr, "raft-addr", "", "address for Raft and node-to-node traffic, host:port")
	f.StringVar(&peers, "peers", "", "initial voters, id@raft-address,... (this node included)")
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
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	// Health checks (security).
	f.StringVar(&checkNets, "check-allow-networks", "", "networks (CIDR, comma-separated) checks may probe although refused by default: loopback, link-local, cloud metadata (--dev: loopback)")
	// Spec secrets and provider endpoints (security).
	f.StringSliceVar(&cfg.SpecEnvPrefixes, "spec-env-prefix", nil, "prefix of the environment variables a spec's providers and TSIG keys may name, less those under --check-env-prefix and --notify-env-prefix, repeatable (default "+spec.DefaultEnvPrefix+")")
	f.StringSliceVar(&cfg.ProviderBaseURLs, "provider-base-url", nil, "a base_url (URL or host[:port]) the spec's providers may call besides their official endpoint, repeatable (default: none)")
	durationFlag(f, &cfg.Raft.HeartbeatTimeout, "raft-heartbeat-timeout", "how long without the leader before an election (default 500ms; raise on links slower than ~150 ms round trip)")
	durationFlag(f, &cfg.Raft.ElectionTimeout, "raft-election-timeout", "how long a candidate waits for votes (default 500ms)")
	durationFlag(f, &cfg.Raft.LeaderLeaseTimeout, "raft-leader-lease", "how long a leader leads without hearing a majority (default 250ms)")
	durationFlag(f, &cfg.Raft.CommitTimeout, "raft-commit-timeout", "longest wait before replicating a commit (default 50ms)")
	webFlags(f, &cfg)
	// Notifications (security).
	f.StringVar(&notifyNets, "notify-allow-networks", "", "networks (CIDR, comma-separated) notification channels may reach although refused by default: loopback, link-local, cloud metadata (--dev: loopback)")

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
	f.StringVar(&dnsPeerNets, "dns-peer-allow-networks", "", "networks (CIDR, comma-separated) NOTIFY targets and RFC 2136 servers may be in although refused by default: loopback, link-local, cloud metadata (--dev: loopback)")
	return cmd
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
}

// mergeWebFlags overlays webFlags set on the command line onto the node
// file.
func mergeWebFlags(cmd *cobra.Command, file *node.Config, flags node.Config) {
	overlay(cmd, "api-names", &file.APINames, flags.APINames)
	overlay(cmd, "api-auth-failures", &file.APIAuthFailures, flags.APIAuthFailures)
	overlay(cmd, "api-auth-window", &file.APIAuthWindow, flags.APIAuthWindow)
	overlay(cmd, "status-url", &file.StatusURL, flags.StatusURL)
	overlay(cmd, "status-node-label", &file.StatusNodeLabel, flags.StatusNodeLabel)
	// API resource limits (sec-limits).
	overlay(cmd, "api-spec-wait", &file.APISpecWait, flags.APISpecWait)
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

func (l *indexList) String() string {
	var out []string
	for _, i := range *l {
		out = append(out, strconv.FormatUint(i, 10))
	}
	return strings.Join(out, ",")
}

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

// overlay sets *dst to the flag's value v when the flag was given on the
// command line: flags win over the node file.
func overlay[T any](cmd *cobra.Command, name string, dst *T, v T) {
	if cmd.Flags().Changed(name) {
		*dst = v
	}
}

// mergeFlags overlays the flags set on the command line onto the node file.
func mergeFlags(cmd *cobra.Command, file, flags node.Config) node.Config {
	overlay(cmd, "node-id", &file.NodeID, flags.NodeID)
	overlay(cmd, "datacenter", &file.Datacenter, flags.Datacenter)
	overlay(cmd, "raft-addr", &file.RaftAddr, flags.RaftAddr)
	overlay(cmd, "dns-addr", &file.DNSAddr, flags.DNSAddr)
	overlay(cmd, "api-addr", &file.APIAddr, flags.APIAddr)
	overlay(cmd, "status-addr", &file.StatusAddr, flags.StatusAddr)
	overlay(cmd, "data-dir", &file.DataDir, flags.DataDir)
	overlay(cmd, "spec", &file.Spec, flags.Spec)
	overlay(cmd, "tls-ca", &file.TLSCA, flags.TLSCA)
	overlay(cmd, "tls-cert", &file.TLSCert, flags.TLSCert)
	overlay(cmd, "tls-key", &file.TLSKey, flags.TLSKey)
	overlay(cmd, "api-tokens", &file.APITokens, flags.APITokens)
	overlay(cmd, "insecure", &file.Insecure, flags.Insecure)
	overlay(cmd, "raft-heartbeat-timeout", &file.Raft.HeartbeatTimeout, flags.Raft.HeartbeatTimeout)
	overlay(cmd, "raft-election-timeout", &file.Raft.ElectionTimeout, flags.Raft.ElectionTimeout)
	overlay(cmd, "raft-leader-lease", &file.Raft.LeaderLeaseTimeout, flags.Raft.LeaderLeaseTimeout)
	overlay(cmd, "raft-commit-timeout", &file.Raft.CommitTimeout, flags.Raft.CommitTimeout)
	overlay(cmd, "dev", &file.Dev, flags.Dev)
	mergeWebFlags(cmd, &file, flags)
	overlay(cmd, "skip-entry", &file.SkipEntries, flags.SkipEntries)
	overlay(cmd, "spec-env-prefix", &file.SpecEnvPrefixes, flags.SpecEnvPrefixes)
	overlay(cmd, "provider-base-url", &file.ProviderBaseURLs, flags.ProviderBaseURLs)
	mergeDNSLimits(cmd, &file.DNSLimits, flags.DNSLimits)
	overlay(cmd, "check-env-prefix", &file.CheckEnvPrefixes, flags.CheckEnvPrefixes)
	overlay(cmd, "notify-env-prefix", &file.NotifyEnvPrefixes, flags.NotifyEnvPrefixes)
	overlay(cmd, "nsid", &file.NSID, flags.NSID)
	return file
}

// splitList reads a comma-separated flag value; an empty value is an
// empty, not a missing, list.
func splitList(s string) []string {
	out := []string{}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

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

func mergeDNSLimits(cmd *cobra.Command, file *node.DNSLimits, flags node.DNSLimits) {
	overlay(cmd, "dns-rate-limit", &file.RateLimit, flags.RateLimit)
	overlay(cmd, "dns-rate-limit-slip", &file.Slip, flags.Slip)
	overlay(cmd, "dns-tcp-max-conns", &file.TCPMaxConns, flags.TCPMaxConns)
	overlay(cmd, "dns-tcp-max-conns-per-ip", &file.TCPMaxConnsPerIP, flags.TCPMaxConnsPerIP)
	overlay(cmd, "dns-rate-limit-exempt", &file.Exempt, flags.Exempt)
	overlay(cmd, "dns-tcp-idle-timeout", &file.TCPIdleTimeout, flags.TCPIdleTimeout)
	overlay(cmd, "dns-tcp-io-timeout", &file.TCPIOTimeout, flags.TCPIOTimeout)
}
