package dnssec

import (
	"crypto"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/spec"
)

// Errors returned by this package. Check them with errors.Is.
var (
	// ErrAlgorithm means an algorithm detour does not sign with.
	ErrAlgorithm = errors.New("unsupported DNSSEC algorithm")
	// ErrKeyFile means a key file that cannot be read as a key.
	ErrKeyFile = errors.New("bad DNSSEC key file")
	// ErrPermissions means a private key file others may read.
	ErrPermissions = errors.New("private key file readable by group or others")
)

// Key is one signing key of a zone: a CSK (flags 257, SEP), signing the
// DNSKEY RRset and the zone's data alike, or, with keys split, a KSK
// (257) signing the DNSKEY RRset or a ZSK (256) signing the rest
// (split.go).
type Key struct {
	Zone   string // fully qualified, lower case
	DNSKEY *dns.DNSKEY
	Signer crypto.Signer
	Timing Timing
	// File is the .private file the key was read from, if any.
	File string
}

// Timing is when a key enters and leaves the zone, as BIND's key
// metadata says it: zero Publish or Activate is "from the start", zero
// Inactive or Delete is "never".
type Timing struct {
	Created  time.Time
	Publish  time.Time // in the DNSKEY RRset from then on
	Activate time.Time // signs from then on
	Inactive time.Time // signs no more from then on
	Delete   time.Time // out of the DNSKEY RRset from then on
}

// Tag is the key tag (RFC 4034 appendix B).
func (k *Key) Tag() uint16 { return k.DNSKEY.KeyTag() }

// Published reports whether the key is in the DNSKEY RRset at now.
func (k *Key) Published(now time.Time) bool {
	t := k.Timing
	return !now.Before(t.Publish) && (t.Delete.IsZero() || now.Before(t.Delete))
}

// Active reports whether the key signs at now.
func (k *Key) Active(now time.Time) bool {
	t := k.Timing
	return k.Published(now) && !now.Before(t.Activate) && (t.Inactive.IsZero() || now.Before(t.Inactive))
}

// State names the key's state at now: "published" (in the DNSKEY RRset,
// not signing yet), "active", "retired" (published, signing no more),
// "removed" or "future" (not published yet).
func (k *Key) State(now time.Time) string {
	switch {
	case now.Before(k.Timing.Publish):
		return "future"
	case !k.Published(now):
		return "removed"
	case k.Active(now):
		return "active"
	case now.Before(k.Timing.Activate):
		return "published"
	}
	return "retired"
}

// DS returns the key's DS record with SHA-256 (digest type 2), the one
// to give the registrar.
func (k *Key) DS() *dns.DS { return k.DNSKEY.ToDS(dns.SHA256) }

// Algorithm returns the DNSSEC algorithm number of a spec name.
func Algorithm(name string) (uint8, error) {
	switch strings.ToLower(name) {
	case spec.AlgECDSAP256SHA256, "":
		return dns.ECDSAP256SHA256, nil
	case spec.AlgED25519:
		return dns.ED25519, nil
	}
	return 0, fmt.Errorf("dnssec: %q: %w", name, ErrAlgorithm)
}

// Generate makes a new CSK (or KSK: the same key) for zone with the algorithm named as in the
// spec (ecdsap256sha256 or ed25519), published and active from now.
func Generate(zone, algorithm string, ttl uint32, now time.Time) (*Key, error) {
	alg, err := Algorithm(algorithm)
	if err != nil {
		return nil, err
	}
	zone = dns.CanonicalName(zone)
	k := &dns.DNSKEY{
		Hdr:       dns.RR_Header{Name: zone, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: ttl},
		Flags:     dns.ZONE | dns.SEP,
		Protocol:  3,
		Algorithm: alg,
	}
	bits := 256
	priv, err := k.Generate(bits)
	if err != nil {
		return nil, fmt.Errorf("dnssec: generate %s key: %w", algorithm, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("dnssec: %s: %w", algorithm, ErrAlgorithm)
	}
	now = now.UTC().Truncate(time.Second)
	return &Key{Zone: zone, DNSKEY: k, Signer: signer, Timing: Timing{Created: now, Publish: now, Activate: now}}, nil
}
