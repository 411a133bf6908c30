package dnsserver

import (
	"slices"

	"github.com/miekg/dns"
)

// packSigned packs the DO=1 answer of every name and type the fast path
// answers in a signed zone, every variant of a weighted record signed:
// those that depend on the snapshot always, the static ones (as the
// zone set packs them for DO=0) when fill says they are not packed yet.
func (s *Snapshot) packSigned(fill bool) {
	for origin := range s.dnssec.zones {
		z := s.zs.zones[origin]
		for name, n := range z.nodes {
			if n.cut || len(n.rrsets)+len(n.dyn) == 0 {
				continue
			}
			for _, t := range n.answerTypes() {
				s.packSignedKey(name, t, fill)
			}
		}
		for _, t := range []uint16{dns.TypeSOA, dns.TypeDNSKEY, dns.TypeCDS, dns.TypeCDNSKEY} {
			s.packSignedKey(origin, t, fill)
		}
	}
}

// packSignedKey packs the DO=1 answer of name/t into the snapshot's
// answers, or into the static ones when it depends on the spec and keys
// alone (and fill).
func (s *Snapshot) packSignedKey(name string, t uint16, fill bool) {
	key := string(wireKey(nil, name, t))
	static := s.zs.fast[key] != nil || t == dns.TypeDNSKEY || t == dns.TypeCDS || t == dns.TypeCDNSKEY
	if static && !fill {
		return
	}
	p := s.packDO(name, t)
	switch {
	case p == nil:
	case static:
		s.dnssec.static[key] = p
	default:
		s.dnssec.packed[key] = p
	}
}

// packDO is pack for a query with DO: every variant resolved, signed and
// packed. Answers the fast path does not take (several weighted RRsets)
// are left to the slow path.
func (s *Snapshot) packDO(name string, t uint16) *packed {
	return s.packAs(name, t, true)
}

// signedFast returns, for a query with DO, the signed answer of the
// fast path for key, and whether the name is in a zone signed now (then
// a miss goes to the slow path, which signs online; a zone with DNSSEC
// in its spec but no key on this node is answered unsigned, fast).
func (s *Snapshot) signedFast(do bool, key []byte) (*packed, bool) {
	// Small enough to inline: a query without DO pays no call.
	if do && s.dnssec != nil {
		return s.signedLookup(key)
	}
	return nil, false
}

// signedLookup is signedFast for a query with DO in a snapshot that
// signs.
func (s *Snapshot) signedLookup(key []byte) (*packed, bool) {
	// A hit is in a signed zone: the zone walk is for misses only.
	if p := s.dnssec.packed[string(key)]; p != nil {
		return p, true
	}
	if p := s.dnssec.static[string(key)]; p != nil {
		return p, true
	}
	return nil, s.dnssec.signedKey(key)
}

// augment makes res, the answer to qname/qtype, a DNSSEC answer when the
// zone is signed: DNSKEY, CDS and CDNSKEY at the apex; compact denial
// (RFC 9824) for NXDOMAIN, NODATA and an insecure delegation; RRSIGs
// after every authoritative RRset. co keeps the NXDOMAIN rcode (the
// client set Compact Answers OK); keep caches new signatures of RRsets
// whose owner is a name of the zone (never a random name's: a flood of
// them would grow the cache without bound).
func (d *signedData) augment(s *Snapshot, res *resolution, qname string, qtype uint16, co, keep bool) {
	if d == nil || res.refused {
		return
	}
	z := s.zs.zoneFor(qname, qtype)
	if z == nil || d.zones[z.origin] == nil {
		return
	}
	zsg := d.zones[z.origin]
	if qname == z.origin && res.rcode == dns.RcodeSuccess && len(res.answer) == 0 {
		if set := zsg.apexSet(qtype); set != nil {
			res.answer, res.ns = set, nil
		}
	}
	d.deny(s, z, zsg, res, qname, qtype, co)
	res.answer = d.signSection(s, z, zsg, res.answer, keep, false)
	res.ns = d.signSection(s, z, zsg, res.ns, keep, !res.aa)
	res.extra = d.signSection(s, z, zsg, res.extra, keep, false)
}

// apexSet is the apex RRset of DNSSEC type t the server adds, or nil.
func (z *zoneSigner) apexSet(t uint16) []dns.RR {
	switch t {
	case dns.TypeDNSKEY:
		return z.dnskey
	case dns.TypeCDS:
		return z.cds
	case dns.TypeCDNSKEY:
		return z.cdnskey
	}
	return nil
}

// deny adds compact denial of existence to a negative answer or a
// referral: an NSEC at the name denied whose next name is \000.name.
func (d *signedData) deny(s *Snapshot, z *zone, zsg *zoneSigner, res *resolution, qname string, qtype uint16, co bool) {
	if !res.aa && len(res.ns) > 0 && res.ns[0].Header().Rrtype == dns.TypeNS {
		// A referral: to a secure delegation it carries the DS RRset
		// (signed after this, RFC 4035 3.1.4); to an insecure one, the
		// NSEC at the cut proves there is no DS.
		cut := res.ns[0].Header().Name
		if ds := z.nodes[cut].rrset(dns.TypeDS); len(ds) > 0 {
			res.ns = append(res.ns, ds...)
			return
		}
		res.ns = append(res.ns, d.nsec(s, z, cut, z.nodes[cut], z.negTTL(s)))
		return
	}
	if len(res.ns) == 0 || res.ns[0].Header().Rrtype != dns.TypeSOA {
		return
	}
	name := chainEnd(qname, res.answer)
	ttl := res.ns[0].Header().Ttl
	if res.rcode == dns.RcodeNameError {
		if !co {
			res.rcode = dns.RcodeSuccess
		}
		res.ns = append(res.ns, compactNSEC(name, ttl, []uint16{dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNXNAME}))
		return
	}
	n := z.nodes[name]
	if n == nil {
		n = z.wildcard(name)
	}
	res.ns = append(res.ns, d.nsec(s, z, name, n, ttl))
}

// negTTL is the TTL of negative answers: min(SOA TTL, SOA minimum).
func (z *zone) negTTL(s *Snapshot) uint32 {
	soa := s.soa[z.origin]
	return min(soa.Hdr.Ttl, soa.Minttl)
}

// nsec is the compact NSEC at name, n's types in its bitmap.
func (d *signedData) nsec(s *Snapshot, z *zone, name string, n *node, ttl uint32) dns.RR {
	types := []uint16{dns.TypeRRSIG, dns.TypeNSEC}
	if n != nil {
		types = append(types, s.typesAt(z, n)...)
		if n.name == z.origin {
			types = append(types, dns.TypeSOA, dns.TypeDNSKEY, dns.TypeCDS, dns.TypeCDNSKEY)
		}
	}
	return compactNSEC(name, ttl, types)
}

// compactNSEC is an NSEC at name covering nothing but name: its next
// name is \000.name, the least name after it (RFC 9824).
func compactNSEC(name string, ttl uint32, types []uint16) *dns.NSEC {
	slices.Sort(types)
	out := slices.Compact(types)
	return &dns.NSEC{
		Hdr:        dns.RR_Header{Name: name, Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: ttl},
		NextDomain: `\000.` + name,
		TypeBitMap: out,
	}
}

// typesAt lists the types n holds now: static RRsets and health-driven
// ones that answer.
func (s *Snapshot) typesAt(z *zone, n *node) []uint16 {
	var out []uint16
	for _, set := range n.rrsets {
		out = append(out, set.typ)
	}
	r := &resolver{zs: s.zs, snap: s}
	for t := range n.dyn {
		if len(r.rrs(z, n, t)) > 0 {
			out = append(out, t)
		}
	}
	return out
}

// chainEnd is the name a CNAME chain from qname ends at in answer.
func chainEnd(qname string, answer []dns.RR) string {
	name := qname
	for _, rr := range answer {
		if c, ok := rr.(*dns.CNAME); ok && dns.CanonicalName(c.Hdr.Name) == name {
			name = dns.CanonicalName(c.Target)
		}
	}
	return name
}

// signSection returns rrs with the RRSIGs of each authoritative RRset
// after it. Records at or below a delegation (NS of a referral, glue)
// are not signed; neither are those of another zone.
func (d *signedData) signSection(s *Snapshot, z *zone, zsg *zoneSigner, rrs []dns.RR, keep, referral bool) []dns.RR {
	if len(rrs) == 0 {
		return rrs
	}
	out := make([]dns.RR, 0, 2*len(rrs))
	for start := 0; start < len(rrs); {
		end := start + 1
		h := rrs[start].Header()
		for end < len(rrs) && rrs[end].Header().Rrtype == h.Rrtype && rrs[end].Header().Name == h.Name {
			end++
		}
		set := rrs[start:end]
		out = append(out, set...)
		if d.signable(s, z, h, referral) {
			out = append(out, zsg.sigs(d.cache, set, keep && !hasWildcardOwner(z, h.Name))...)
		}
		start = end
	}
	return out
}

// signable reports whether the RRset with header h is the zone's own
// authoritative data.
func (d *signedData) signable(s *Snapshot, z *zone, h *dns.RR_Header, referral bool) bool {
	name := dns.CanonicalName(h.Name)
	switch {
	case h.Rrtype == dns.TypeRRSIG || h.Rrtype == dns.TypeOPT:
		return false
	case !dns.IsSubDomain(z.origin, name):
		return false
	case s.zs.findZone(name) != z && !((h.Rrtype == dns.TypeDS || h.Rrtype == dns.TypeNSEC) && s.zs.zoneFor(name, dns.TypeDS) == z):
		// Another zone's name; but DS at the apex of a child zone
		// served here, and the NSEC that denies it, are the parent's
		// (zoneFor).
		return false
	case h.Rrtype == dns.TypeNSEC:
		return true
	case referral && h.Rrtype == dns.TypeNS:
		return false
	}
	// Below a delegation nothing is the zone's own, but the DS RRset at
	// the delegation point is (RFC 4035 2.4).
	cut := z.findCut(name)
	return cut == nil || h.Rrtype == dns.TypeDS && cut.name == name
}

// hasWildcardOwner reports whether name is not a name of the zone: a
// wildcard's synthesis, or a compact NSEC's owner, signed for one query.
func hasWildcardOwner(z *zone, name string) bool {
	_, ok := z.nodes[dns.CanonicalName(name)]
	return !ok
}
