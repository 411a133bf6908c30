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
	}
	switch {
	case st.KeyScheme == spec.KeysSplit && zsk == 0 && sep > 0:
		st.Notice = "dnssec.keys is split, but no ZSK of the zone signs on this node: its KSK signs everything, as a CSK ('detour dnssec rollover' cannot make the split; see docs/dns-server.md, DNSSEC)"
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
