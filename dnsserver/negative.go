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

// negTemplate is what a zone's negative answers carry in their
// authority section: its SOA, with the TTL of RFC 2308 and the
// snapshot's serial. Its names are compressed per reply, as miekg/dns
// packs the resolver's (appendCompressed): the reply is the same bytes
// whichever path gives it.
type negTemplate struct {
	// root: the zone is the root, whose owner is the root label alone.
	root bool
	// ttl and tail are the record's TTL and the data after the names:
	// serial, refresh, retry, expire and minimum.
	ttl  uint32
	tail [20]byte
	// mname and rname are the data's names in wire form, as the zone
	// writes them (case kept).
	mname, rname []byte
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

// newNegTemplate makes the template of soa, the SOA of the zone at
// origin, or returns nil when its names have escapes (which the packer
// compares in text form).
func newNegTemplate(origin string, soa *dns.SOA) *negTemplate {
	if soa == nil || strings.IndexByte(soa.Ns, '\\') >= 0 || strings.IndexByte(soa.Mbox, '\\') >= 0 {
		return nil
	}
	t := &negTemplate{root: origin == ".", ttl: min(soa.Hdr.Ttl, soa.Minttl)}
	for i, v := range [...]uint32{soa.Serial, soa.Refresh, soa.Retry, soa.Expire, soa.Minttl} {
		binary.BigEndian.PutUint32(t.tail[4*i:], v)
	}
	for _, n := range []struct {
		name string
		dst  *[]byte
	}{{soa.Ns, &t.mname}, {soa.Mbox, &t.rname}} {
		buf := make([]byte, 256)
		l, err := dns.PackDomainName(dns.Fqdn(n.name), buf, 0, nil, false)
		if err != nil {
			return nil
		}
		*n.dst = buf[:l:l]
	}
	return t
}

// appendSOA appends t's record to b, a reply whose question's name, qn
// (lower case, wire form), starts at headerLen. The owner is a pointer
// to the apex, the end of qn (the root label alone in the root zone);
// the names in the data are compressed as miekg/dns compresses them: the
// longest suffix that the question or the MNAME already holds, with the
// same case, becomes a pointer to where it first stands.
func (t *negTemplate) appendSOA(b, qn []byte, apexLen int) []byte {
	if t.root {
		b = append(b, 0)
	} else {
		b = binary.BigEndian.AppendUint16(b, 0xC000|uint16(headerLen+len(qn)-apexLen))
	}
	b = append(b, byte(dns.TypeSOA>>8), byte(dns.TypeSOA), 0, byte(dns.ClassINET))
	b = binary.BigEndian.AppendUint32(b, t.ttl)
	b = append(b, 0, 0) // the data's length, below
	data := len(b)
	mnameAt := len(b)
	b, written := appendCompressed(b, t.mname, qn, nil, 0, 0)
	b, _ = appendCompressed(b, t.rname, qn, t.mname, written, mnameAt)
	b = append(b, t.tail[:]...)
	binary.BigEndian.PutUint16(b[data-2:], uint16(len(b)-data))
	return b
}

// appendCompressed appends name (wire form) to b: its labels up to the
// longest suffix that stands in qn (the question's name, at headerLen)
// or in prev at one of its first prevLabels bytes' labels (a name
// written at prevAt, up to a pointer there), then a pointer to it; or
// the whole name when none does. The root label alone is never a
// pointer. It returns b and how many bytes of name it wrote before a
// pointer: where a later name may point into it.
func appendCompressed(b, name, qn, prev []byte, prevLabels, prevAt int) ([]byte, int) {
	for i := 0; i < len(name) && name[i] != 0; i += int(name[i]) + 1 {
		at, ok := findSuffix(name[i:], qn, len(qn), headerLen)
		if !ok {
			at, ok = findSuffix(name[i:], prev, prevLabels, prevAt)
		}
		if ok {
			return binary.BigEndian.AppendUint16(append(b, name[:i]...), 0xC000|uint16(at)), i
		}
	}
	return append(b, name...), len(name)
}

// findSuffix looks for suffix (wire form) among the names that begin at
// the labels of in (wire form, written at offset at) that start before
// limit, and returns where it stands. Bytes are compared as they are:
// the same letters in another case are another name to the packer.
func findSuffix(suffix, in []byte, limit, at int) (int, bool) {
	for j := 0; j < limit && j < len(in) && in[j] != 0; j += int(in[j]) + 1 {
		if string(in[j:]) == string(suffix) {
			return at + j, true
		}
	}
	return 0, false
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
	if z == nil || !z.negFast || s.neg[z.idx] == nil || qtype == dns.TypeDS && len(dotted) == len(z.origin) {
		return nil // DS at an apex: the parent zone may answer it (zoneFor)
	}
	rcode := byte(dns.RcodeNameError)
	if n := z.nodes[string(dotted)]; n != nil {
		if !n.lacks(qtype) {
			return nil
		}
		rcode = dns.RcodeSuccess
	} else if z.static != nil && z.static.holdsName(key) {
		// A name of the table holds only RRsets of compactTypes; the
		// table was asked for qtype before this.
		rcode = dns.RcodeSuccess
	}
	b := append(sc.neg[:0], 0, 0, byte((flagQR|flagAA)>>8), rcode, 0, 1, 0, 0, 0, 1, 0, 0)
	b = append(b, key...)
	b = append(b, 0, byte(dns.ClassINET))
	b = s.neg[z.idx].appendSOA(b, wire, wireLen(z.origin))
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
