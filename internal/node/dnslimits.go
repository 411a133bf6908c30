package node

import (
	"net/netip"

	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/internal/netguard"
	"github.com/seed3787e6f1/detour/spec"
)

// DefaultDNSRateLimit is the response rate limit of an agent, per client
// network and response class, as Knot DNS's mod-rrl example.
const DefaultDNSRateLimit = 20

// DNSLimits are the node file's `dns_limits:` keys and the --dns-* abuse
// flags: response rate limiting over UDP and the TCP connection limits
// (docs/dns-server.md). Zero values take the defaults.
type DNSLimits struct {
	// RateLimit is responses per second per client network (/24, /56)
	// and response class; 0 means 20, -1 turns rate limiting off. Off
	// by default under --dev and in the demo.
	RateLimit int `yaml:"rate_limit"`
	// Slip sends every Slip-th limited response truncated (TC), so
	// that real clients retry over TCP; 0 means 2, -1 never.
	Slip int `yaml:"slip"`
	// Exempt lists client networks (CIDR or address) never limited.
	Exempt []string `yaml:"rate_limit_exempt"`
	// TCPIdleTimeout closes a TCP connection idle that long; 0 means 5s.
	TCPIdleTimeout spec.Duration `yaml:"tcp_idle_timeout"`
	// TCPIOTimeout bounds reading a query once begun and writing a
	// reply; 0 means 500ms.
	TCPIOTimeout spec.Duration `yaml:"tcp_io_timeout"`
	// TCPMaxConns caps open TCP connections; 0 means 1024.
	TCPMaxConns int `yaml:"tcp_max_conns"`
	// TCPMaxConnsPerIP caps one client address's; 0 means 16.
	TCPMaxConnsPerIP int `yaml:"tcp_max_conns_per_ip"`
}

// validate reports each problem with add.
func (l *DNSLimits) validate(add func(format string, args ...any)) {
	if l.RateLimit < -1 || l.RateLimit > 1_000_000 {
		add("--dns-rate-limit %d: want -1 (off), 0 (default %d) or up to 1000000", l.RateLimit, DefaultDNSRateLimit)
	}
	if l.Slip < -1 || l.Slip > 100 {
		add("--dns-rate-limit-slip %d: want -1 (never), 0 (default 2) or 1 to 100", l.Slip)
	}
	if _, err := l.exempt(); err != nil {
		add("--dns-rate-limit-exempt: %v", err)
	}
	if l.TCPMaxConns < 0 || l.TCPMaxConnsPerIP < 0 {
		add("--dns-tcp-max-conns and --dns-tcp-max-conns-per-ip must not be negative")
	}
}

// exempt parses the exempt networks; an address alone is its own network.
func (l *DNSLimits) exempt() ([]netip.Prefix, error) {
	return netguard.ParseNetworks("rate_limit_exempt", l.Exempt)
}

// server returns the DNS server's settings; dev turns rate limiting off
// unless it was asked for.
func (l *DNSLimits) server(addr string, dev bool) dnsserver.Config {
	cfg := dnsserver.Config{
		Addr: addr, TCPIdleTimeout: l.TCPIdleTimeout.D(), TCPIOTimeout: l.TCPIOTimeout.D(),
		MaxTCPConns: l.TCPMaxConns, MaxTCPConnsPerIP: l.TCPMaxConnsPerIP,
	}
	rate := l.RateLimit
	switch {
	case rate == 0 && dev, rate < 0:
		return cfg
	case rate == 0:
		rate = DefaultDNSRateLimit
	}
	exempt, _ := l.exempt() // validated
	cfg.RRL = dnsserver.RRLConfig{Rate: rate, Slip: l.Slip, Exempt: exempt}
	return cfg
}
