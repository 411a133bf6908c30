package dnssec

import (
	"time"

	"github.com/miekg/dns"
)

// Key roles. A key with the SEP flag (257) signs the DNSKEY RRset (and
// CDS, CDNSKEY) and is the one a DS points at: a CSK when it signs the
// rest of the zone too, a KSK when a ZSK does. A key without it (256) is
// a ZSK, signing everything but the DNSKEY, CDS and CDNSKEY RRsets.
const (
	RoleCSK = "csk"
	RoleKSK = "ksk"
	RoleZSK = "zsk"
)

// SEP reports whether k has the SEP flag: a CSK or a KSK.
func (k *Key) SEP() bool { return k.DNSKEY.Flags&dns.SEP != 0 }

// GenerateZSK makes a new zone-signing key (flags 256) for zone, as
// Generate makes a CSK or KSK: published and active from now.
func GenerateZSK(zone, algorithm string, ttl uint32, now time.Time) (*Key, error) {
	k, err := Generate(zone, algorithm, ttl, now)
	if err != nil {
		return nil, err
	}
	// The flags are not part of the key material: clearing SEP makes
	// the same key pair a ZSK (and gives it its own key tag).
	k.DNSKEY.Flags = dns.ZONE
	return k, nil
}

// Roles splits the keys that sign at one time into those that sign the
// DNSKEY, CDS and CDNSKEY RRsets (the SEP keys) and those that sign the
// rest (the others). When one side has no key the other signs for it:
// a zone of CSKs only has them sign everything; a zone whose KSK went
// missing is still signed by its ZSK (the validators do not look at the
// flags; only the DS does).
func Roles(active []*Key) (keyset, zone []*Key) {
	for _, k := range active {
		if k.SEP() {
			keyset = append(keyset, k)
		} else {
			zone = append(zone, k)
		}
	}
	switch {
	case len(zone) == 0:
		zone = keyset
	case len(keyset) == 0:
		keyset = zone
	}
	return keyset, zone
}

// Role names k's role among keys (the zone's keys): csk, ksk or zsk. A
// SEP key is a KSK when the zone has a ZSK.
func Role(k *Key, keys []*Key) string {
	if !k.SEP() {
		return RoleZSK
	}
	for _, o := range keys {
		if !o.SEP() {
			return RoleKSK
		}
	}
	return RoleCSK
}

// SEPKeys returns the keys of keys with the SEP flag: CSKs and KSKs,
// the keys DS records point at.
func SEPKeys(keys []*Key) []*Key { return filter(keys, true) }

// ZSKs returns the keys of keys without the SEP flag.
func ZSKs(keys []*Key) []*Key { return filter(keys, false) }

func filter(keys []*Key, sep bool) []*Key {
	var out []*Key
	for _, k := range keys {
		if k.SEP() == sep {
			out = append(out, k)
		}
	}
	return out
}
