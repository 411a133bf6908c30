// Package rfc2136 is detour's provider for any DNS server accepting
// dynamic updates (RFC 2136) signed with TSIG: BIND, Knot DNS, PowerDNS.
//
// Ownership is by name and type: detour owns the RRsets of the spec's
// health-driven records in the zone and replaces each whole RRset with no
// prerequisite (delete the RRset, add the new records, in one UPDATE
// message the server applies atomically). Every other RRset of the zone,
// including other types at the same names, is left alone.
package rfc2136

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/internal/netguard"
	"github.com/seed3787e6f1/detour/providers"
	"github.com/seed3787e6f1/detour/spec"
)

// Timeout bounds one exchange with the server.
const Timeout = 5 * time.Second

// MaxChangesPerUpdate caps the RRsets replaced by one UPDATE message,
// keeping it well inside a TCP message's 64 KiB.
const MaxChangesPerUpdate = 200

// Config is a provider's settings, resolved on this node.
type Config struct {
	Server string // host:port
	Zone   string
	// KeyName, Algorithm (miekg/dns name, e.g. dns.HmacSHA256) and Secret
	// (base64) sign every message; an empty KeyName sends unsigned ones.
	KeyName, Algorithm, Secret string
	Timeout                    time.Duration
	// Allow lists networks the server may be in although refused by
	// default (spec.ForbiddenTarget: loopback, link-local, metadata...).
	Allow []netip.Prefix
}

// Provider updates one zone on one server.
type Provider struct {
	cfg      Config
	requests atomic.Uint64
}

// AllowSetting is the node setting that fills Config.Allow; refusals
// name it.
const AllowSetting = "dns_peer_allow_networks"

// Builder returns the constructor of Providers that may connect to
// servers in the networks of allow beside those allowed by default.
func Builder(allow []netip.Prefix) providers.Builder {
	return func(p spec.Provider, getenv func(string) string) (providers.Provider, error) {
		return build(p, getenv, allow)
	}
}

// Build makes a Provider from the spec, reading the TSIG secret from the
// environment variable the spec names; its server may not be in the
// networks refused by default.
func Build(p spec.Provider, getenv func(string) string) (providers.Provider, error) {
	return build(p, getenv, nil)
}

func build(p spec.Provider, getenv func(string) string, allow []netip.Prefix) (providers.Provider, error) {
	cfg := Config{Server: p.Server, Zone: p.Zone, Allow: allow}
	if p.TSIGKey != "" {
		alg, ok := spec.TSIGAlgorithm(p.TSIGAlgorithm)
		if !ok {
			return nil, fmt.Errorf("%w: unknown TSIG algorithm %q", providers.ErrConfig, p.TSIGAlgorithm)
		}
		secret := getenv(p.TSIGSecretEnv)
		if secret == "" {
			return nil, fmt.Errorf("%w: environment variable %s (tsig_secret_env) is empty or unset on this node", providers.ErrConfig, p.TSIGSecretEnv)
		}
		if _, err := base64.StdEncoding.DecodeString(secret); err != nil {
			return nil, fmt.Errorf("%w: environment variable %s does not hold a base64 TSIG secret", providers.ErrConfig, p.TSIGSecretEnv)
		}
		cfg.KeyName, cfg.Algorithm, cfg.Secret = dns.Fqdn(p.TSIGKey), alg, secret
	}
	return New(cfg), nil
}

// New returns a Provider for cfg.
func New(cfg Config) *Provider {
	cfg.Zone = dns.CanonicalName(cfg.Zone)
	if cfg.KeyName != "" {
		cfg.KeyName = dns.Fqdn(cfg.KeyName)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = Timeout
	}
	return &Provider{cfg: cfg}
}

// Requests returns how many DNS messages were sent.
func (p *Provider) Requests() uint64 { return p.requests.Load() }

func (p *Provider) client() *dns.Client {
	c := p.dialer()
	if p.cfg.KeyName != "" {
		c.TsigSecret = map[string]string{p.cfg.KeyName: p.cfg.Secret}
	}
	return c
}

// dialer returns a TCP client whose connections go only to addresses
// this node allows: a server name resolving to a refused address is
// refused before anything is sent.
func (p *Provider) dialer() *dns.Client {
	g := netguard.Guard{Allow: p.cfg.Allow, Setting: AllowSetting}
	d := g.Dialer()
	d.Timeout = p.cfg.Timeout
	return &dns.Client{Net: "tcp", Timeout: p.cfg.Timeout, Dialer: d}
}

func (p *Provider) sign(m *dns.Msg) {
	if p.cfg.KeyName != "" {
		m.SetTsig(p.cfg.KeyName, p.cfg.Algorithm, 300, time.Now().Unix())
	}
}

// Read queries the server for every RRset in want over one TCP
// connection. The server is the zone's primary, so its answers are the
// zone's state, not a cache. Queries are not signed: a primary answers
// its zone to anyone it allows to update it, and miekg/dns verifies TSIG
// on a reused connection only for its first exchange.
func (p *Provider) Read(ctx context.Context, want []providers.Key) ([]providers.RRset, error) {
	if len(want) == 0 {
		return nil, nil
	}
	c := p.dialer()
	conn, err := c.DialContext(ctx, p.cfg.Server)
	if err != nil {
		return nil, fmt.Errorf("rfc2136: %s: %w", p.cfg.Server, err)
	}
	defer conn.Close()
	var out []providers.RRset
	for _, k := range want {
		m := new(dns.Msg)
		m.SetQuestion(k.Name, dns.StringToType[k.Type])
		m.RecursionDesired = false
		p.requests.Add(1)
		r, _, err := c.ExchangeWithConnContext(ctx, m, conn)
		if err != nil {
			return nil, fmt.Errorf("rfc2136: query %s at %s: %w", k, p.cfg.Server, err)
		}
		if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
			return nil, p.rcodeErr("query "+k.String(), r.Rcode)
		}
		rr := providers.RRset{Key: k}
		for _, a := range r.Answer {
			h := a.Header()
			if dns.CanonicalName(h.Name) != k.Name || dns.TypeToString[h.Rrtype] != k.Type {
				continue
			}
			rr.TTL = h.Ttl
			switch v := a.(type) {
			case *dns.A:
				rr.Values = append(rr.Values, v.A.String())
			case *dns.AAAA:
				rr.Values = append(rr.Values, v.AAAA.String())
			case *dns.CNAME:
				rr.Values = append(rr.Values, dns.CanonicalName(v.Target))
			}
		}
		if len(rr.Values) > 0 {
			slices.Sort(rr.Values)
			out = append(out, rr)
		}
	}
	return out, nil
}

// Apply replaces the changed RRsets, up to MaxChangesPerUpdate per UPDATE
// message: for each, delete the RRset, then add the new records.
func (p *Provider) Apply(ctx context.Context, changes []providers.Change) ([]*providers.RRset, error) {
	out := make([]*providers.RRset, len(changes))
	for start := 0; start < len(changes); start += MaxChangesPerUpdate {
		end := min(start+MaxChangesPerUpdate, len(changes))
		m := new(dns.Msg)
		m.SetUpdate(p.cfg.Zone)
		for i, c := range changes[start:end] {
			k := c.Key()
			t := dns.StringToType[k.Type]
			m.Ns = append(m.Ns, &dns.ANY{Hdr: dns.RR_Header{Name: k.Name, Rrtype: t, Class: dns.ClassANY}})
			if c.New == nil {
				continue
			}
			rrs, err := records(*c.New)
			if err != nil {
				return nil, err
			}
			m.Ns = append(m.Ns, rrs...)
			out[start+i] = c.New
		}
		p.sign(m)
		p.requests.Add(1)
		r, _, err := p.client().ExchangeContext(ctx, m, p.cfg.Server)
		if err != nil {
			if errors.Is(err, dns.ErrSig) || errors.Is(err, dns.ErrAuth) {
				err = fmt.Errorf("%w: %w", providers.ErrAuth, err)
			}
			return nil, fmt.Errorf("rfc2136: update %s at %s: %w", p.cfg.Zone, p.cfg.Server, err)
		}
		if r.Rcode != dns.RcodeSuccess {
			return nil, p.rcodeErr("update "+p.cfg.Zone, r.Rcode)
		}
	}
	return out, nil
}

func (p *Provider) rcodeErr(what string, rcode int) error {
	err := fmt.Errorf("rfc2136: %s at %s: %s", what, p.cfg.Server, dns.RcodeToString[rcode])
	switch rcode {
	case dns.RcodeNotAuth, dns.RcodeRefused, dns.RcodeBadSig, dns.RcodeBadKey, dns.RcodeBadTime:
		key := "no TSIG key"
		if p.cfg.KeyName != "" {
			key = "TSIG key " + p.cfg.KeyName
		}
		return fmt.Errorf("%w (%s): %w", providers.ErrAuth, key, err)
	}
	return err
}

// records turns an RRset into DNS records to add.
func records(rr providers.RRset) ([]dns.RR, error) {
	hdr := dns.RR_Header{Name: rr.Name, Rrtype: dns.StringToType[rr.Type], Class: dns.ClassINET, Ttl: rr.TTL}
	var out []dns.RR
	for _, v := range rr.Values {
		switch rr.Type {
		case "A", "AAAA":
			ip := net.ParseIP(v)
			if ip == nil {
				return nil, fmt.Errorf("rfc2136: %s: %q is not an address", rr.Key, v)
			}
			if rr.Type == "A" {
				out = append(out, &dns.A{Hdr: hdr, A: ip.To4()})
			} else {
				out = append(out, &dns.AAAA{Hdr: hdr, AAAA: ip})
			}
		case "CNAME":
			out = append(out, &dns.CNAME{Hdr: hdr, Target: dns.Fqdn(v)})
		default:
			return nil, fmt.Errorf("rfc2136: %s: type not supported", rr.Key)
		}
	}
	return out, nil
}
