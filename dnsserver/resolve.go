package dnsserver

import (
	"github.com/miekg/dns"
)

// maxChain bounds CNAME chains inside a zone (loops stop earlier).
const maxChain = 16

// resolution is the outcome of answering one question.
type resolution struct {
	rcode   int
	aa      bool
	answer  []dns.RR
	ns      []dns.RR
	extra   []dns.RR
	refused bool // not authoritative: REFUSED with EDE 20
	// wildcard: the answer was synthesised from a wildcard.
	wildcard bool
}

// resolver answers questions from a zone set and, when set, a snapshot's
// dynamic answers. It records whether the answer depended on anything a
// snapshot changes (dynamic records, the SOA serial), so that answers
// depending on static data alone can be packed once per spec.
type resolver struct {
	zs   *ZoneSet
	snap *Snapshot
	// pick chooses a variant of a weighted dynamic RRset; nil means the
	// first.
	pick func(variants []Variant) int

	dependsOnSnapshot bool
	weightedSeen      int
	// geoPick chooses the variants of a geo record (nil, or false: its
	// own); geoSeen counts the geo records met.
	geoPick func(g *Geo) ([]Variant, bool)
	geoSeen int
}

// resolve answers qname/qtype in class IN. qname is lower case and fully
// qualified.
func (r *resolver) resolve(qname string, qtype uint16) resolution {
	z := r.zs.zoneFor(qname, qtype)
	if z == nil {
		return resolution{rcode: dns.RcodeRefused, refused: true}
	}
	res := resolution{aa: true}
	seen := map[string]bool{}
	name := qname
	for chain := 0; ; chain++ {
		if cut := z.findCut(name); cut != nil && !(cut.name == name && qtype == dns.TypeDS) {
			if chain == 0 {
				res.aa = false
			}
			res.ns = append(res.ns, cut.rrset(dns.TypeNS)...)
			r.addTargets(z, &res, cut.rrset(dns.TypeNS))
			return res
		}
		if d := z.dnameAbove(name); d != nil {
			target, ok := synthesise(&res, d, name)
			if !ok || qtype == dns.TypeCNAME || r.stop(z, seen, name, target, chain) {
				return res
			}
			name = target
			continue
		}
		n, owner := z.lookup(name), name
		if n == nil {
			if n = z.wildcard(name); n == nil {
				res.rcode = dns.RcodeNameError
				res.ns = append(res.ns, r.soa(z))
				return res
			}
			res.wildcard = true
		}
		if cname := r.rrs(z, n, dns.TypeCNAME); len(cname) > 0 && qtype != dns.TypeCNAME {
			res.answer = append(res.answer, withOwner(cname, owner)...)
			if qtype == dns.TypeANY {
				return res // minimal ANY: the CNAME alone, as Knot DNS does
			}
			target := dns.CanonicalName(cname[0].(*dns.CNAME).Target)
			if r.stop(z, seen, name, target, chain) {
				return res
			}
			name = target
			continue
		}
		return r.answerAt(z, n, owner, qtype, res)
	}
}

// answerAt completes res with n's RRset of qtype, or NODATA.
func (r *resolver) answerAt(z *zone, n *node, owner string, qtype uint16, res resolution) resolution {
	t := qtype
	if qtype == dns.TypeANY {
		t = r.lowestType(z, n)
	}
	rrs := r.rrs(z, n, t)
	if len(rrs) == 0 {
		res.ns = append(res.ns, r.soa(z))
		return res
	}
	res.answer = append(res.answer, withOwner(rrs, owner)...)
	r.addTargets(z, &res, rrs)
	return res
}

// stop says whether a chain at name must end rather than go on to
// target: a loop, too long a chain, or a target outside this zone. It
// marks name as seen.
func (r *resolver) stop(z *zone, seen map[string]bool, name, target string, chain int) bool {
	seen[name] = true
	return seen[target] || chain+1 >= maxChain || !dns.IsSubDomain(z.origin, target) || r.zs.findZone(target) != z
}

// synthesise adds the DNAME at d and the CNAME it makes for name, below
// d, to res (RFC 6672 section 3.2), and returns the CNAME's target. A
// target longer than a domain name can be ends the answer with YXDOMAIN
// and the DNAME alone (ok false).
func synthesise(res *resolution, d *node, name string) (string, bool) {
	dname := d.rrset(dns.TypeDNAME)[0].(*dns.DNAME)
	res.answer = append(res.answer, dname)
	suffix := dns.CanonicalName(dname.Target)
	if suffix == "." {
		suffix = ""
	}
	target := name[:len(name)-len(d.name)] + suffix
	if _, ok := dns.IsDomainName(target); !ok {
		res.rcode = dns.RcodeYXDomain
		return "", false
	}
	res.answer = append(res.answer, &dns.CNAME{
		Hdr:    dns.RR_Header{Name: name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: dname.Hdr.Ttl},
		Target: target,
	})
	return target, true
}

// dnameAbove returns the node strictly above name, at or below the apex,
// that holds a DNAME, or nil. Validation keeps names below a DNAME empty,
// so there is at most one.
func (z *zone) dnameAbove(name string) *node {
	if !z.dnames {
		return nil
	}
	for off, end := dns.NextLabel(name, 0); !end && len(name[off:]) >= len(z.origin); off, end = dns.NextLabel(name, off) {
		if n := z.nodes[name[off:]]; n != nil && n.rrset(dns.TypeDNAME) != nil {
			return n
		}
	}
	return nil
}

// rrs returns n's RRset of type t, from the snapshot for dynamic records.
func (r *resolver) rrs(z *zone, n *node, t uint16) []dns.RR {
	if t == dns.TypeSOA && n.name == z.origin {
		return []dns.RR{r.soaRecord(z)}
	}
	if i, ok := n.dyn[t]; ok {
		r.dependsOnSnapshot = true
		if r.snap == nil {
			return nil
		}
		d := r.snap.dynamic[z.origin][i]
		variants := r.geoVariants(&d)
		switch len(variants) {
		case 0:
			return nil
		case 1:
			return variants[0].RRs
		}
		r.weightedSeen++
		if r.pick == nil {
			return variants[0].RRs
		}
		return variants[r.pick(variants)].RRs
	}
	return n.rrset(t)
}

// lowestType picks the RRset answered for ANY (RFC 8482): the one with the
// lowest type, as Knot DNS does.
func (r *resolver) lowestType(z *zone, n *node) uint16 {
	best := uint16(0)
	for _, s := range n.rrsets {
		best = s.typ
		break
	}
	for t := range n.dyn {
		if len(r.rrs(z, n, t)) > 0 && (best == 0 || t < best) {
			best = t
		}
	}
	if n.name == z.origin && (best == 0 || dns.TypeSOA < best) {
		best = dns.TypeSOA
	}
	return best
}

func (r *resolver) soaRecord(z *zone) dns.RR {
	r.dependsOnSnapshot = true
	if r.snap == nil {
		return z.soa
	}
	return r.snap.soa[z.origin]
}

// soa is the SOA for a negative answer: its TTL is the lesser of the SOA's
// TTL and its minimum field (RFC 2308).
func (r *resolver) soa(z *zone) dns.RR {
	s := r.soaRecord(z).(*dns.SOA)
	if s.Minttl < s.Hdr.Ttl {
		c := *s
		c.Hdr.Ttl = s.Minttl
		return &c
	}
	return s
}

// addTargets adds address records of in-zone NS, MX and SRV targets to
// the additional section, glue under a delegation included (as Knot DNS
// does). Each record is added once (RFC 2181 5.5).
func (r *resolver) addTargets(z *zone, res *resolution, rrs []dns.RR) {
	for _, rr := range rrs {
		var target string
		switch v := rr.(type) {
		case *dns.NS:
			target = v.Ns
		case *dns.MX:
			target = v.Mx
		case *dns.SRV:
			target = v.Target
		default:
			continue
		}
		r.addAddresses(z, res, dns.CanonicalName(target))
	}
}

// addAddresses adds target's A and AAAA records to res's additional
// section, synthesised from a wildcard when only one holds them (Knot DNS
// does the same), unless target is outside z or below a delegation
// without glue.
func (r *resolver) addAddresses(z *zone, res *resolution, target string) {
	if !dns.IsSubDomain(z.origin, target) || r.zs.findZone(target) != z {
		return
	}
	n := z.lookup(target)
	if n == nil && z.findCut(target) == nil && z.dnameAbove(target) == nil {
		n = z.wildcard(target)
	}
	if n == nil {
		return
	}
	for _, t := range [...]uint16{dns.TypeA, dns.TypeAAAA} {
		for _, a := range withOwner(r.rrs(z, n, t), target) {
			if !containsRR(res.extra, a) {
				res.extra = append(res.extra, a)
			}
		}
	}
}

// findCut returns the highest delegation point at or above name, below
// the apex, or nil.
func (z *zone) findCut(name string) *node {
	if len(name) <= len(z.origin) {
		return nil
	}
	// Walk from just below the apex down to name.
	labels := dns.SplitDomainName(name)
	depth := dns.CountLabel(z.origin)
	for i := len(labels) - depth - 1; i >= 0; i-- {
		off := 0
		for j := 0; j < i; j++ {
			off += len(labels[j]) + 1
		}
		if n := z.nodes[name[off:]]; n != nil && n.cut {
			return n
		}
	}
	return nil
}

// wildcard returns the wildcard node that synthesises name (RFC 4592), or
// nil: the source of synthesis is "*." + the closest encloser, and a name
// that exists is never synthesised.
func (z *zone) wildcard(name string) *node {
	for off, end := dns.NextLabel(name, 0); !end; off, end = dns.NextLabel(name, off) {
		ce := name[off:]
		if z.exists(ce) {
			return z.nodes["*."+ce]
		}
		if len(ce) <= len(z.origin) {
			return nil
		}
	}
	return nil
}

// withOwner returns rrs with owner name set to owner (for wildcard
// synthesis); rrs that already carry it are returned as they are.
func withOwner(rrs []dns.RR, owner string) []dns.RR {
	if len(rrs) == 0 || rrs[0].Header().Name == owner {
		return rrs
	}
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		c := dns.Copy(rr)
		c.Header().Name = owner
		out[i] = c
	}
	return out
}

func containsRR(list []dns.RR, rr dns.RR) bool {
	for _, x := range list {
		if x == rr || dns.IsDuplicate(x, rr) {
			return true
		}
	}
	return false
}
