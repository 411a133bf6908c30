package dnsserver

import (
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/miekg/dns"
)

// signZone returns the records of zone z as a secondary gets them when z
// is signed: recs (the SOA first, then the zone's current records), the
// apex DNSKEY, CDS and CDNSKEY, an RRSIG for every authoritative RRset
// and a complete NSEC chain in canonical order, as a conventionally
// signed zone has; compact denial is for the answers this server makes
// itself. recs is returned as it is for a zone not signed.
func (d *signedData) signZone(s *Snapshot, z *zone, recs []dns.RR) []dns.RR {
	if !d.signs(z.origin) {
		return recs
	}
	zsg := d.zones[z.origin]
	sets := map[string]map[uint16][]dns.RR{}
	add := func(rr dns.RR) {
		name := dns.CanonicalName(rr.Header().Name)
		if sets[name] == nil {
			sets[name] = map[uint16][]dns.RR{}
		}
		t := rr.Header().Rrtype
		if !containsRR(sets[name][t], rr) {
			sets[name][t] = append(sets[name][t], rr)
		}
	}
	for _, rr := range recs {
		add(rr)
	}
	for _, set := range [][]dns.RR{zsg.dnskey, zsg.cds, zsg.cdnskey} {
		for _, rr := range set {
			add(rr)
		}
	}
	names := make([]string, 0, len(sets))
	for name := range sets {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return canonicalLess(names[i], names[j]) })
	var chain []string // names with an NSEC: not below a cut
	for _, name := range names {
		if cut := z.findCut(name); cut == nil || cut.name == name {
			chain = append(chain, name)
		}
	}
	out := make([]dns.RR, 0, 3*len(recs))
	out = append(out, recs[0])
	ttl := z.negTTL(s)
	next := 0
	for _, name := range names {
		cut := z.findCut(name)
		glue := cut != nil && cut.name != name
		for _, t := range slices.Sorted(maps.Keys(sets[name])) {
			set := sets[name][t]
			if t != dns.TypeSOA {
				out = append(out, set...)
			}
			if !glue && !(cut != nil && t == dns.TypeNS) {
				out = append(out, zsg.sigs(d.cache, set, true)...)
			}
		}
		if glue {
			continue
		}
		next++
		nsec := &dns.NSEC{
			Hdr:        dns.RR_Header{Name: name, Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: ttl},
			NextDomain: chain[next%len(chain)],
			TypeBitMap: append(slices.Sorted(maps.Keys(sets[name])), dns.TypeRRSIG, dns.TypeNSEC),
		}
		slices.Sort(nsec.TypeBitMap)
		out = append(out, nsec)
		out = append(out, zsg.sigs(d.cache, []dns.RR{nsec}, true)...)
	}
	return out
}

// canonicalLess orders names as RFC 4034 6.1 does: label by label from
// the root, each label compared as lower-case octets.
func canonicalLess(a, b string) bool {
	la, lb := dns.SplitDomainName(a), dns.SplitDomainName(b)
	for i, j := len(la)-1, len(lb)-1; i >= 0 && j >= 0; i, j = i-1, j-1 {
		x, y := labelBytes(la[i]), labelBytes(lb[j])
		if x != y {
			return x < y
		}
	}
	return len(la) < len(lb)
}

// labelBytes is a presentation-format label as its lower-case octets.
func labelBytes(l string) string {
	if !strings.Contains(l, `\`) {
		return strings.ToLower(l)
	}
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(l+".", buf, 0, nil, false)
	if err != nil || n < 2 {
		return strings.ToLower(l)
	}
	return strings.ToLower(string(buf[1 : n-1]))
}
