package dnsserver

import (
	"encoding/binary"
	"strings"

	"github.com/miekg/dns"
)

// Negative answers on the fast path.
//
// A name that does not exist (NXDOMAIN) or a type a name does not hold
// (NODATA: an AAAA query for a name with only an A record is the most
// common of all) used to go through the slow path: the full parser, the
// resolver and the packer, about 3 us and 17 allocations a query where a
// positive answer costs under 0.1 us and none. A flood of random names
// (the "random subdomain" attack on authoritative servers, which comes
// through real resolvers and so past response rate limiting) is all
// negative answers.
//
// In a zone where nothing but the name decides a negative answer, the
// fast path answers it without the resolver: no wildcard (which would
// synthesise an answer for a name that does not exist), no DNAME, no
// delegation below the apex, and not signed (a signed zone's denial
// needs its proof, and its apex answers differ without DO). The answer
// is what the resolver gives: the rcode, AA, the question, and the
// zone's SOA in the authority section with the TTL of RFC 2308 (the
// lesser of its TTL and its minimum field), built from a template per
// zone and snapshot (the serial is the snapshot's). Anything else
// (a CNAME at the name, the type held by a health-driven record, meta
// types, names with characters the zone's text form escapes) goes to
// the slow path as before.

// negTemplate is the authority section of a zone's negative answers:
// its SOA record with the owner, and the names in its data that end in
// the apex, compressed to the apex, which sits at a different offset of
// every reply (the end of the question's name).
type negTemplate struct {
	rr []byte
	// ptrs are the offsets in rr of the pointers to the apex.
	ptrs []int
	// apex is the length of the apex in wire form.
	apex int
}

// markNegative decides which zones the fast path may answer negatively,
// and numbers the zones for the snapshots' templates.
func (zs *ZoneSet) markNegative() {
	i := 0
	for origin, z := range zs.zones {
		z.idx = i
		i++
		z.negFast = zs.dnssec[origin] == nil && !z.dnames && plainNameOnly(origin)
		for name, n := range z.nodes {
			if n.cut || strings.HasPrefix(name, "*.") {
				z.negFast = false
				break
			}
		}
	}
}

// plainNameOnly says whether name's text form needs no escapes and its
// labels hold only what negative answers take: the letters, digits, '-'
// and '_' of host names and service labels, in lower case.
func plainNameOnly(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; !plainByte(c) && c != '.' {
			return false
		}
	}
	return true
}

func plainByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// negTemplates builds the negative answers' templates of the zones that
// take them, from the snapshot's SOAs.
func (s *Snapshot) negTemplates() {
	for origin, z := range s.zs.zones {
		if !z.negFast {
			continue
		}
		if s.neg == nil {
			s.neg = make([]*negTemplate, len(s.zs.zones))
		}
		s.neg[z.idx] = newNegTemplate(origin, s.soa[origin])
	}
}

// newNegTemplate packs soa, the SOA of the zone at origin, as the
// authority section of a negative answer.
func newNegTemplate(origin string, soa *dns.SOA) *negTemplate {
	if soa == nil {
		return nil
	}
	t := &negTemplate{apex: wireLen(origin)}
	ttl := min(soa.Hdr.Ttl, soa.Minttl)
	rr := []byte{0xC0, 0, byte(dns.TypeSOA >> 8), byte(dns.TypeSOA), 0, byte(dns.ClassINET)}
	t.ptrs = append(t.ptrs, 0)
	rr = binary.BigEndian.AppendUint32(rr, ttl)
	rr = append(rr, 0, 0) // the data's length, below
	data := len(rr)
	var ok bool
	for _, name := range [...]string{soa.Ns, soa.Mbox} {
		if rr, ok = t.appendName(rr, name, origin); !ok {
			return nil
		}
	}
	for _, v := range [...]uint32{soa.Serial, soa.Refresh, soa.Retry, soa.Expire, soa.Minttl} {
		rr = binary.BigEndian.AppendUint32(rr, v)
	}
	binary.BigEndian.PutUint16(rr[data-2:], uint16(len(rr)-data))
	t.rr = rr
	return t
}

// appendName appends name to rr: the labels before the apex and a
// pointer to it when name ends in it, else the whole name.
func (t *negTemplate) appendName(rr []byte, name, origin string) ([]byte, bool) {
	name = dns.Fqdn(name)
	if strings.IndexByte(name, '\\') < 0 && len(name) >= len(origin) && strings.EqualFold(name[len(name)-len(origin):], origin) &&
		(len(name) == len(origin) || origin == "." || name[len(name)-len(origin)-1] == '.') {
		prefix := name[:len(name)-len(origin)]
		if origin == "." {
			prefix = strings.TrimSuffix(name, ".")
		}
		for _, label := range strings.Split(strings.TrimSuffix(prefix, "."), ".") {
			if label == "" {
				continue
			}
			if len(label) > 63 {
				return rr, false
			}
			rr = append(append(rr, byte(len(label))), label...)
		}
		t.ptrs = append(t.ptrs, len(rr))
		return append(rr, 0xC0, 0), true
	}
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(name, buf, 0, nil, false)
	if err != nil {
		return rr, false
	}
	return append(rr, buf[:n]...), true
}

// wireLen is the length of name's wire form (name has no escapes).
func wireLen(name string) int {
	if name == "." {
		return 1
	}
	return len(name) + 1
}

// negativeType says whether a negative answer to qtype is the zone's
// plain one: not for meta types, OPT, ANY and the like, nor for SOA (the
// apex's is in the snapshot).
func negativeType(t uint16) bool {
	return t != 0 && t != dns.TypeOPT && t != dns.TypeSOA && (t < 128 || t > 255)
}

// negative returns the body of the negative answer to key (a query's
// lower-cased wire name and type) when the fast path may give it, or
// nil. It does not allocate.
func (s *Snapshot) negative(key []byte, sc *Scratch) []byte {
	if s.neg == nil || len(key) < 3 {
		return nil
	}
	qtype := binary.BigEndian.Uint16(key[len(key)-2:])
	if !negativeType(qtype) {
		return nil
	}
	wire := key[:len(key)-2]
	dotted, ok := appendDotted(sc.dotted[:0], wire)
	sc.dotted = dotted
	if !ok {
		return nil
	}
	z := s.zs.findZoneDotted(dotted)
	if z == nil || !z.negFast || s.neg[z.idx] == nil {
		return nil
	}
	rcode := byte(dns.RcodeNameError)
	if n := z.nodes[string(dotted)]; n != nil {
		if !n.lacks(qtype) {
			return nil
		}
		rcode = dns.RcodeSuccess
	} else if z.static != nil && z.tableRecords > 0 && s.zs.static.holdsName(key) {
		// A name of the table holds only RRsets of compactTypes; the
		// table was asked for qtype before this.
		rcode = dns.RcodeSuccess
	}
	t := s.neg[z.idx]
	b := append(sc.neg[:0], 0, 0, byte((flagQR|flagAA)>>8), rcode, 0, 1, 0, 0, 0, 1, 0, 0)
	b = append(b, key...)
	b = append(b, 0, byte(dns.ClassINET))
	start := len(b)
	b = append(b, t.rr...)
	apex := uint16(headerLen + len(wire) - t.apex)
	for _, p := range t.ptrs {
		binary.BigEndian.PutUint16(b[start+p:], 0xC000|apex)
	}
	sc.neg = b
	return b
}

// lacks says whether n answers qtype with NODATA alone: it holds no
// RRset of that type, static or health-driven, and no CNAME.
func (n *node) lacks(qtype uint16) bool {
	if n.rrset(qtype) != nil || n.rrset(dns.TypeCNAME) != nil {
		return false
	}
	_, has := n.dyn[qtype]
	_, cname := n.dyn[dns.TypeCNAME]
	return !has && !cname
}

// holdsName says whether the table holds any answer at key's name (key
// is a query's wire name and type; its type bytes are restored).
func (st *staticTable) holdsName(key []byte) bool {
	tb := len(key) - 2
	hi, lo := key[tb], key[tb+1]
	defer func() { key[tb], key[tb+1] = hi, lo }()
	for _, t := range compactTypes {
		key[tb], key[tb+1] = byte(t>>8), byte(t)
		if st.get(key) != nil {
			return true
		}
	}
	return false
}

// appendDotted appends the text form of wire (a lower-cased name in wire
// form, uncompressed) to dst, or returns false when a label holds a byte
// plainByte does not allow.
func appendDotted(dst, wire []byte) ([]byte, bool) {
	if len(wire) == 1 {
		return append(dst, '.'), wire[0] == 0
	}
	for i := 0; i < len(wire); {
		l := int(wire[i])
		if l == 0 {
			return dst, i == len(wire)-1
		}
		if i+1+l > len(wire) {
			return dst, false
		}
		for _, c := range wire[i+1 : i+1+l] {
			if !plainByte(c) {
				return dst, false
			}
		}
		dst = append(append(dst, wire[i+1:i+1+l]...), '.')
		i += 1 + l
	}
	return dst, false
}

// findZoneDotted is findZone for a name in a byte slice without escapes
// (from appendDotted); it does not allocate.
func (zs *ZoneSet) findZoneDotted(name []byte) *zone {
	labels := 0
	for _, c := range name {
		if c == '.' {
			labels++
		}
	}
	if len(name) == 1 {
		labels = 0
	}
	off := 0
	for ; labels > zs.maxLabels; labels-- {
		off += indexDot(name[off:]) + 1
	}
	for off < len(name) {
		if z := zs.zones[string(name[off:])]; z != nil {
			return z
		}
		off += indexDot(name[off:]) + 1
	}
	return zs.zones["."]
}

func indexDot(b []byte) int {
	for i, c := range b {
		if c == '.' {
			return i
		}
	}
	return len(b)
}
