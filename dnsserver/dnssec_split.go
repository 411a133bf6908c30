package dnsserver

import (
	"fmt"
	"time"

	"github.com/seed3787e6f1/detour/dnssec"
	"github.com/seed3787e6f1/detour/spec"
)

// splitStatus fills in the parts of st that a KSK/ZSK split adds: the
// spec's key scheme, the ZSK rollover, the zone's largest TTL, and a
// notice when the key files do not match the scheme.
func splitStatus(st *DNSSECStatus, snap *Snapshot, settings *spec.DNSSEC, keys []*dnssec.Key, now time.Time) {
	st.KeyScheme = settings.Keys
	if st.KeyScheme == "" {
		st.KeyScheme = spec.KeysCSK
	}
	st.MaxTTL = snap.maxTTL(st.Zone)
	var sep, zsk int
	for _, k := range keys {
		if !k.Active(now) {
			continue
		}
		if k.SEP() {
			sep++
		} else {
			zsk++
		}
	}
	if len(dnssec.ZSKs(keys)) > 0 {
		r := dnssec.ZSKRolloverState(keys, now)
		st.ZSKRollover = &r
		if n := shortRetirement(keys, now, st.MaxTTL); n != "" {
			st.Notice = n
			return
		}
	}
	switch {
	case st.KeyScheme == spec.KeysSplit && zsk == 0 && sep > 0:
		st.Notice = "dnssec.keys is split, but no ZSK of the zone signs on this node: its KSK signs everything, as a CSK (add a ZSK with 'detour dnssec keygen ZONE --dir DIR --keys split', and copy DIR to every node)"
	case st.KeyScheme == spec.KeysSplit && sep == 0 && zsk > 0:
		st.Notice = "dnssec.keys is split, but no KSK of the zone signs on this node: its ZSK signs the DNSKEY RRset too, and no DS can point at it"
	case st.KeyScheme == spec.KeysCSK && zsk > 0:
		st.Notice = fmt.Sprintf("dnssec.keys is csk, but %d ZSK(s) of the zone sign on this node: the keys are split (set dnssec.keys: split)", zsk)
	}
}

// maxTTL is the largest TTL of zone's records in s (negative answers'
// included), or 0 for a zone not served.
func (s *Snapshot) maxTTL(zone string) uint32 {
	z := s.zs.zones[zone]
	soa := s.soa[zone]
	if z == nil || soa == nil {
		return 0
	}
	ttl := max(soa.Hdr.Ttl, z.negTTL(s))
	for _, rr := range z.staticRecords() {
		ttl = max(ttl, rr.Header().Ttl)
	}
	for _, rr := range s.dynamicRecords(zone) {
		ttl = max(ttl, rr.Header().Ttl)
	}
	return ttl
}

// shortRetirement warns when a ZSK that stopped signing, or will, leaves
// the DNSKEY RRset before the zone's largest TTL has passed since: a
// cache may then hold a signature by it that no key validates.
func shortRetirement(keys []*dnssec.Key, now time.Time, maxTTL uint32) string {
	for _, k := range dnssec.ZSKs(keys) {
		t := k.Timing
		if t.Inactive.IsZero() || t.Delete.IsZero() || !now.Before(t.Delete) {
			continue
		}
		if gap := t.Delete.Sub(t.Inactive); gap < time.Duration(maxTTL)*time.Second {
			return fmt.Sprintf("ZSK %d leaves the DNSKEY RRset %s after it stops signing, less than the zone's largest TTL (%ds): validators may hold its signatures after it is gone (set its Delete timing later, or start the rollover with --max-zone-ttl %d)",
				k.Tag(), gap, maxTTL, maxTTL)
		}
	}
	return ""
}
