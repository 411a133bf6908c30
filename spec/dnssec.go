package spec

import (
	"fmt"
	"time"
)

// DNSSEC algorithms a zone may be signed with.
const (
	AlgECDSAP256SHA256 = "ecdsap256sha256"
	AlgED25519         = "ed25519"
	// NSECCompact is compact denial of existence (RFC 9824): the only
	// denial detour serves online.
	NSECCompact = "compact"
	// KeysCSK is one combined signing key per zone (the default);
	// KeysSplit a key-signing key (KSK) for the DNSKEY RRset and a
	// zone-signing key (ZSK) for the rest.
	KeysCSK   = "csk"
	KeysSplit = "split"
)

// DNSSEC defaults: signatures valid 14 days, refreshed after 7, their
// inception an hour in the past for clocks behind ours, DNSKEY TTL one
// hour.
const (
	DefaultSigValidity  = 14 * 24 * time.Hour
	DefaultSigRefresh   = 7 * 24 * time.Hour
	DefaultSigBackdate  = time.Hour
	DefaultDNSKEYTTL    = 3600
	maxSigValidity      = 90 * 24 * time.Hour
	minSigValidityRatio = 2 // refresh at most half the validity
)

// DNSSEC is a zone's signing settings. Keys are not here: each node reads
// them from its key directory (see docs/security.md).
type DNSSEC struct {
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Algorithm is ecdsap256sha256 (default) or ed25519.
	Algorithm string `yaml:"algorithm" json:"algorithm,omitempty"`
	// NSEC is the denial of existence: compact (default, the only one).
	NSEC string `yaml:"nsec" json:"nsec,omitempty"`
	// Validity is how long a signature is valid from its inception
	// (default 336h, 14 days).
	Validity Duration `yaml:"validity" json:"validity,omitempty"`
	// Refresh is how long after signing every signature is made anew
	// (default 168h, 7 days); at most half the validity.
	Refresh Duration `yaml:"refresh" json:"refresh,omitempty"`
	// Backdate is how far in the past a signature's inception is put,
	// for validators whose clock is behind (default 1h).
	Backdate Duration `yaml:"inception_backdate" json:"inception_backdate,omitempty"`
	// DNSKEYTTL is the TTL of the DNSKEY, CDS and CDNSKEY RRsets
	// (default 3600): what a rollover waits for.
	DNSKEYTTL uint32 `yaml:"dnskey_ttl" json:"dnskey_ttl,omitempty"`
	// Keys is csk (default: one combined signing key) or split (a KSK
	// signing the DNSKEY, CDS and CDNSKEY RRsets, a ZSK the rest). The
	// key files say which key is which (the KSK has the SEP flag); this
	// says which the zone is meant to have, and status warns when the
	// key directory does not match it.
	Keys string `yaml:"keys" json:"keys,omitempty"`
}

// On reports whether d signs its zone.
func (d *DNSSEC) On() bool { return d != nil && d.Enabled }

// validateDNSSEC checks every zone's dnssec settings and fills in the
// defaults.
func (s *Spec) validateDNSSEC(e *Error) {
	for i := range s.Zones {
		d := s.Zones[i].DNSSEC
		if d == nil {
			continue
		}
		path := fmt.Sprintf("zones[%d].dnssec", i)
		if d.Algorithm == "" {
			d.Algorithm = AlgECDSAP256SHA256
		}
		if d.Algorithm != AlgECDSAP256SHA256 && d.Algorithm != AlgED25519 {
			e.add(path+".algorithm", "%q (algorithms: %s, %s)", d.Algorithm, AlgECDSAP256SHA256, AlgED25519)
		}
		if d.NSEC == "" {
			d.NSEC = NSECCompact
		}
		if d.NSEC != NSECCompact {
			e.add(path+".nsec", "%q (only %s: compact denial of existence, RFC 9824)", d.NSEC, NSECCompact)
		}
		if d.Keys == "" {
			d.Keys = KeysCSK
		}
		if d.Keys != KeysCSK && d.Keys != KeysSplit {
			e.add(path+".keys", "%q (keys: %s or %s)", d.Keys, KeysCSK, KeysSplit)
		}
		d.fillDefaults()
		switch {
		case d.Validity.D() < 2*time.Hour || d.Validity.D() > maxSigValidity:
			e.add(path+".validity", "%s: want 2h to %s", d.Validity, Duration(maxSigValidity))
		case d.Refresh.D() < time.Hour || d.Refresh.D()*minSigValidityRatio > d.Validity.D():
			e.add(path+".refresh", "%s: want 1h to half the validity (%s)", d.Refresh, Duration(d.Validity.D()/minSigValidityRatio))
		}
		if d.Backdate.D() < 0 || d.Backdate.D() > 24*time.Hour {
			e.add(path+".inception_backdate", "%s: want 0 to 24h", d.Backdate)
		}
		if d.DNSKEYTTL > 86400 {
			e.add(path+".dnskey_ttl", "%d: at most 86400", d.DNSKEYTTL)
		}
	}
}

// fillDefaults sets the timings left unset.
func (d *DNSSEC) fillDefaults() {
	if d.Validity == 0 {
		d.Validity = Duration(DefaultSigValidity)
	}
	if d.Refresh == 0 {
		d.Refresh = Duration(DefaultSigRefresh)
	}
	if d.Backdate == 0 {
		d.Backdate = Duration(DefaultSigBackdate)
	}
	if d.DNSKEYTTL == 0 {
		d.DNSKEYTTL = DefaultDNSKEYTTL
	}
}
