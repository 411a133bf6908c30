package spec

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/miekg/dns"
)

// TSIGKey is a TSIG key a zone's transfer and NOTIFY settings name. The
// secret never travels in the spec: each node reads it, base64, from the
// environment variable SecretEnv.
type TSIGKey struct {
	Name      string `yaml:"name" json:"name"`
	Algorithm string `yaml:"algorithm" json:"algorithm,omitempty"` // default hmac-sha256
	SecretEnv string `yaml:"secret_env" json:"secret_env"`
}

// TransferRule is one parsed allow_transfer entry. A request matches
// when it comes from Prefix (if set) and is signed with Key (if set).
type TransferRule struct {
	Prefix netip.Prefix // zero value: any address
	Key    string       // canonical key name; empty: no key needed
}

// NotifyTarget is one parsed also_notify entry.
type NotifyTarget struct {
	Addr netip.AddrPort
	Key  string // canonical key name; empty: unsigned
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseTransferRule parses an allow_transfer entry: "192.0.2.0/24",
// "2001:db8::1", "xfr-key" or "192.0.2.0/24 xfr-key".
func ParseTransferRule(entry string) (TransferRule, error) {
	var r TransferRule
	fields := strings.Fields(entry)
	if len(fields) == 0 || len(fields) > 2 {
		return r, fmt.Errorf("%q: want an address or CIDR, a TSIG key name, or \"CIDR KEY\"", entry)
	}
	if p, ok := parsePrefix(fields[0]); ok {
		r.Prefix = p
		fields = fields[1:]
	} else if len(fields) == 2 {
		return r, fmt.Errorf("%q: %q is not an address or CIDR", entry, fields[0])
	}
	if len(fields) == 1 {
		if _, ok := dns.IsDomainName(fields[0]); !ok || strings.Contains(fields[0], "/") {
			return r, fmt.Errorf("%q: %q is neither an address, a CIDR nor a key name", entry, fields[0])
		}
		r.Key = dns.CanonicalName(fields[0])
	}
	return r, nil
}

func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// Matches reports whether a request from addr, signed with key (canonical
// name, empty when unsigned or the signature failed), is allowed by r.
func (r TransferRule) Matches(addr netip.Addr, key string) bool {
	if r.Prefix.IsValid() && !r.Prefix.Contains(addr.Unmap()) {
		return false
	}
	return r.Key == "" || r.Key == key
}

// ParseNotifyTarget parses an also_notify entry: "192.0.2.53:53",
// optionally followed by a TSIG key name.
func ParseNotifyTarget(entry string) (NotifyTarget, error) {
	var t NotifyTarget
	fields := strings.Fields(entry)
	if len(fields) == 0 || len(fields) > 2 {
		return t, fmt.Errorf("%q: want IP:port, optionally followed by a TSIG key name", entry)
	}
	ap, err := netip.ParseAddrPort(fields[0])
	if err != nil || ap.Port() == 0 {
		return t, fmt.Errorf("%q: %q is not IP:port (e.g. 192.0.2.53:53 or [2001:db8::53]:53)", entry, fields[0])
	}
	t.Addr = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if len(fields) == 2 {
		if _, ok := dns.IsDomainName(fields[1]); !ok {
			return t, fmt.Errorf("%q: %q is not a key name", entry, fields[1])
		}
		t.Key = dns.CanonicalName(fields[1])
	}
	return t, nil
}

// validateTransfers checks every zone's allow_transfer, also_notify and
// tsig_keys, and normalises key names and algorithms.
func (s *Spec) validateTransfers(e *Error) {
	for i := range s.Zones {
		z := &s.Zones[i]
		path := fmt.Sprintf("zones[%d]", i)
		defined := map[string]bool{}
		for j := range z.TSIGKeys {
			k := &z.TSIGKeys[j]
			kp := fmt.Sprintf("%s.tsig_keys[%d]", path, j)
			if _, ok := dns.IsDomainName(k.Name); !ok || k.Name == "" {
				e.add(kp+".name", "%s: want a key name such as detour-xfr", quoteOrMissing(k.Name))
				continue
			}
			k.Name = dns.CanonicalName(k.Name)
			if defined[k.Name] {
				e.add(kp+".name", "%q is defined twice", k.Name)
			}
			defined[k.Name] = true
			if k.Algorithm == "" {
				k.Algorithm = "hmac-sha256"
			}
			k.Algorithm = strings.ToLower(k.Algorithm)
			if _, ok := TSIGAlgorithm(k.Algorithm); !ok {
				e.add(kp+".algorithm", "%q (algorithms: %s)", k.Algorithm, keys(tsigAlgs))
			}
			if !envName.MatchString(k.SecretEnv) {
				e.add(kp+".secret_env", "%s: the environment variable holding the base64 secret (secrets never go in the spec)", quoteOrMissing(k.SecretEnv))
			}
		}
		known := func(p, key string) {
			if key != "" && !defined[key] {
				e.add(p, "TSIG key %q is not defined in this zone's tsig_keys (keys: %s)", key, keys(defined))
			}
		}
		for j, a := range z.AllowTransfer {
			p := fmt.Sprintf("%s.allow_transfer[%d]", path, j)
			r, err := ParseTransferRule(a)
			if err != nil {
				e.add(p, "%v", err)
				continue
			}
			known(p, r.Key)
		}
		for j, a := range z.AlsoNotify {
			p := fmt.Sprintf("%s.also_notify[%d]", path, j)
			t, err := ParseNotifyTarget(a)
			if err != nil {
				e.add(p, "%v", err)
				continue
			}
			known(p, t.Key)
		}
	}
}
