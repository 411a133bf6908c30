package spec

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"

	"github.com/miekg/dns"
)

// staticRecs are a zone's static records while it compiles, in wire
// form: a record costs a staticRec and its rdata, not a dns.RR (over
// 100 bytes and several pointers, which the collector then walks a
// million times over). The records miekg/dns parsed (the lines the fast
// parser leaves to it, bigload_parse.go) keep their dns.RR beside, for
// the checks that need one.
type staticRecs struct {
	recs  []staticRec
	rdata []byte   // every record's rdata, back to back
	slow  []dns.RR // as miekg/dns parsed them, by staticRec.slow
}

// staticRec is one static record. A record miekg/dns parsed waits for
// compileZone's checks without a name (pending) until it is accepted.
type staticRec struct {
	name  string // owner, canonical
	typ   uint16
	rdlen uint16
	off   uint32 // of the rdata in staticRecs.rdata; noWire: none
	ttl   uint32
	slow  int32 // index in staticRecs.slow, or -1
}

// noWire marks a record that does not pack (as packRRs dropped a
// record dns.PackRR refused; none that parsed): it still counts for
// the RRsets and their checks.
const noWire = math.MaxUint32

// pending says whether compileZone has yet to check (accept) r.
func (r *staticRec) pending() bool { return r.name == "" }

// addFast adds a record the fast parser made: name canonical, class
// IN, rdata its wire form.
func (s *staticRecs) addFast(name string, typ uint16, ttl uint32, rdata []byte) {
	off := uint32(len(s.rdata))
	s.rdata = append(s.rdata, rdata...)
	s.recs = append(s.recs, staticRec{name: name, typ: typ, rdlen: uint16(len(rdata)), off: off, ttl: ttl, slow: -1})
}

// addPending adds a record miekg/dns parsed, for compileZone to check
// (accept).
func (s *staticRecs) addPending(rr dns.RR) {
	s.slow = append(s.slow, rr)
	s.recs = append(s.recs, staticRec{slow: int32(len(s.slow) - 1)})
}

// accept packs the pending record i, whose owner name compileZone made
// canonical.
func (s *staticRecs) accept(i int, scratch []byte) {
	r := &s.recs[i]
	rr := s.slow[r.slow]
	h := rr.Header()
	r.name, r.typ, r.ttl, r.off = h.Name, h.Rrtype, h.Ttl, noWire
	n, err := dns.PackRR(rr, scratch, 0, nil, false)
	if err != nil {
		return
	}
	at := 0
	for scratch[at] != 0 { // the owner name, uncompressed
		at += int(scratch[at]) + 1
	}
	at++
	rdlen := int(binary.BigEndian.Uint16(scratch[at+8:]))
	r.off, r.rdlen = uint32(len(s.rdata)), uint16(rdlen)
	s.rdata = append(s.rdata, scratch[n-rdlen:n]...)
}

// addRR adds rr (owner name canonical) as accepted.
func (s *staticRecs) addRR(rr dns.RR, scratch []byte) {
	s.addPending(rr)
	s.accept(len(s.recs)-1, scratch)
}

// truncate drops what was added since the marks (a source that failed).
func (s *staticRecs) truncate(recs, rdata, slow int) {
	clear(s.recs[recs:])
	clear(s.slow[slow:])
	s.recs, s.rdata, s.slow = s.recs[:recs], s.rdata[:rdata], s.slow[:slow]
}

// wire appends record r's wire form with ttl to buf.
func (s *staticRecs) wire(buf []byte, r *staticRec, ttl uint32) ([]byte, bool) {
	if r.off == noWire {
		return buf, false
	}
	if _, plain := plainName(r.name); plain && strings.HasSuffix(r.name, ".") {
		buf = appendPlainName(buf, r.name)
	} else {
		var name [256]byte
		n, err := dns.PackDomainName(r.name, name[:], 0, nil, false)
		if err != nil {
			return buf, false
		}
		buf = append(buf, name[:n]...)
	}
	buf = binary.BigEndian.AppendUint16(buf, r.typ)
	buf = binary.BigEndian.AppendUint16(buf, dns.ClassINET)
	buf = binary.BigEndian.AppendUint32(buf, ttl)
	buf = binary.BigEndian.AppendUint16(buf, r.rdlen)
	return append(buf, s.rdata[r.off:r.off+uint32(r.rdlen)]...), true
}

// dupKey is what tells record r, with its RRset's ttl, from another of
// its RRset: its text in lower case, as before records were kept in
// wire form, or for an address its rdata, which its text is a function
// of (the key starts with a zero byte, which no text does).
func (s *staticRecs) dupKey(r *staticRec, ttl uint32) string {
	if r.off != noWire && (r.typ == dns.TypeA || r.typ == dns.TypeAAAA) {
		var b strings.Builder
		b.Grow(len(r.name) + 4 + int(r.rdlen))
		b.WriteByte(0)
		b.WriteString(r.name)
		b.WriteByte(0)
		b.WriteByte(byte(r.typ))
		b.Write(s.rdata[r.off : r.off+uint32(r.rdlen)])
		return b.String()
	}
	var rr dns.RR
	if r.slow >= 0 {
		rr = s.slow[r.slow]
	} else {
		w, _ := s.wire(nil, r, ttl)
		var err error
		if rr, _, err = dns.UnpackRR(w, 0); err != nil {
			return "\x00" + string(w) // cannot be: packed from what parsed
		}
	}
	rr.Header().Ttl = ttl
	rr.Header().Name = r.name
	return strings.ToLower(rr.String())
}

// pack packs the records in order, each with its RRset's TTL.
func (s *staticRecs) pack(order []int32, ttlOf func(i int32) uint32) packedRRs {
	size := 0
	for _, i := range order {
		if r := &s.recs[i]; r.off != noWire {
			size += nameWireLen(r.name) + 10 + int(r.rdlen)
		}
	}
	buf := make([]byte, 0, size)
	var p packedRRs
	for _, i := range order {
		var ok bool
		if buf, ok = s.wire(buf, &s.recs[i], ttlOf(i)); ok {
			p.count++
		}
	}
	if cap(buf) > len(buf) {
		buf = bytes.Clone(buf) // without the spare capacity
	}
	p.wire = buf
	return p
}

// nameWireLen is the length of name (absolute) in wire form.
func nameWireLen(name string) int {
	if name == "." {
		return 1
	}
	if strings.IndexByte(name, '\\') < 0 {
		return len(name) + 1
	}
	var b [256]byte
	n, _ := dns.PackDomainName(name, b[:], 0, nil, false)
	return n
}

// appendPlainName appends name (plainName, absolute) in wire form.
func appendPlainName(buf []byte, name string) []byte {
	for name != "" {
		label, rest, _ := strings.Cut(name, ".")
		buf = append(buf, byte(len(label)))
		buf = append(buf, label...)
		name = rest
	}
	return append(buf, 0)
}
