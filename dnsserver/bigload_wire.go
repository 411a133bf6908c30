package dnsserver

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"

	"github.com/miekg/dns"
)

// staticWire is a zone's static records in wire form
// (spec.CompiledZone.StaticWire: uncompressed, RRsets together), split
// at each record. Building a zone set from it makes a dns.RR only for
// the records that stay in nodes, not for the million a static table
// holds as packed answers (a million dns.RR were 100 MB of garbage).
type staticWire struct {
	wire []byte
	off  []int32 // where each record starts, and the end last
}

// splitStatic splits wire at each record; it stops at one that does
// not parse (none: the spec packed them).
func splitStatic(wire []byte) staticWire {
	w := staticWire{wire: wire, off: make([]int32, 0, len(wire)/24+1)}
	at := 0
	for at < len(wire) {
		n := ownerLen(wire, at)
		if n < 0 || at+n+10 > len(wire) {
			break
		}
		end := at + n + 10 + int(binary.BigEndian.Uint16(wire[at+n+8:]))
		if end > len(wire) {
			break
		}
		w.off = append(w.off, int32(at))
		at = end
	}
	w.off = append(w.off, int32(at))
	return w
}

// ownerLen is the length of the uncompressed name at wire[at:], or -1.
func ownerLen(wire []byte, at int) int {
	for i := at; i < len(wire); {
		l := int(wire[i])
		if l == 0 {
			return i + 1 - at
		}
		if l&0xC0 != 0 {
			return -1
		}
		i += l + 1
	}
	return -1
}

// count is the number of records.
func (w *staticWire) count() int { return len(w.off) - 1 }

// record is record i's wire form.
func (w *staticWire) record(i int) []byte { return w.wire[w.off[i]:w.off[i+1]] }

// typ is record i's type.
func (w *staticWire) typ(i int) uint16 {
	at := int(w.off[i])
	return binary.BigEndian.Uint16(w.wire[at+ownerLen(w.wire, at):])
}

// rrsets returns each RRset's owner and type and where its records
// start (the records of an RRset come together), and the end last.
func (w *staticWire) rrsets() ([]dynKey, []int) {
	order := make([]dynKey, 0, w.count())
	start := make([]int, 0, w.count()+1)
	var prev []byte // the last RRset's owner and type, in wire form
	for i := range w.count() {
		at := int(w.off[i])
		n := ownerLen(w.wire, at)
		key := w.wire[at : at+n+2]
		if prev != nil && bytes.Equal(key, prev) {
			continue
		}
		prev = key
		name, _, err := dns.UnpackDomainName(w.wire, at)
		if err != nil {
			name = "." // cannot be: the spec packed it
		}
		order = append(order, dynKey{name, binary.BigEndian.Uint16(w.wire[at+n:])})
		start = append(start, i)
	}
	return order, append(start, w.count())
}

// rrs makes records from to to (exclusive) into dns.RR.
func (w *staticWire) rrs(from, to int) []dns.RR {
	out := make([]dns.RR, 0, to-from)
	for i := from; i < to; i++ {
		if rr, _, err := dns.UnpackRR(w.wire, int(w.off[i])); err == nil {
			out = append(out, rr)
		}
	}
	return out
}

// keepNodes returns the records of the RRsets not placed in the table
// (order's, start as rrsets returns it) as dns.RR, and where each RRset
// starts among them: the zone's nodes keep these.
func (w *staticWire) keepNodes(start []int, compact []bool) ([]int, []dns.RR) {
	n := 0
	for i, c := range compact {
		if !c {
			n += start[i+1] - start[i]
		}
	}
	kept := make([]dns.RR, 0, n)
	next := make([]int, len(start))
	for i, c := range compact {
		next[i] = len(kept)
		if !c {
			kept = append(kept, w.rrs(start[i], start[i+1])...)
		}
	}
	next[len(compact)] = len(kept)
	return next, kept
}

// hash is a hash of the records that does not depend on their order:
// the sum of a mixed FNV-1a hash of each record's wire form. The
// records are distinct (the spec drops duplicates), so a sum tells sets
// apart as well as a sorted list would, without rendering and sorting a
// million records as text.
func (w *staticWire) hash() uint64 {
	var sum uint64
	for i := range w.count() {
		sum += mix64(fnv64a(w.record(i)))
	}
	return sum
}

// addWire is add for records from to to (exclusive) of w, all of
// name/t: their wire form is copied after the owner, which becomes a
// pointer to the question's name.
func (st *staticTable) addWire(name string, t uint16, w *staticWire, from, to int, buf []byte) bool {
	if to-from > 0xFFFF {
		return false
	}
	end, nameLen, ok := st.header(name, t, to-from, buf)
	if !ok {
		return false
	}
	buf = buf[:tableScratch]
	for i := from; i < to; i++ {
		rec := w.record(i)
		if ownerLen(rec, 0) != nameLen || end+2+len(rec)-nameLen > len(buf) {
			return false // another owner (cannot be), or over the buffer: no message holds it
		}
		buf[end], buf[end+1] = 0xC0, headerLen
		end += 2 + copy(buf[end+2:], rec[nameLen:])
		if end-2 > dns.MaxMsgSize {
			return false
		}
	}
	binary.BigEndian.PutUint16(buf, uint16(end-2))
	return st.keep(buf[:end])
}

// header writes an answer's header and question for count records of
// name/t into buf (tableScratch long) as add does, and returns where
// the answers start and the name's length.
func (st *staticTable) header(name string, t uint16, count int, buf []byte) (int, int, bool) {
	if len(st.chunks) == 0 {
		st.seed = maphash.MakeSeed()
	}
	const start = 2 // the entry's length comes first
	buf = buf[:tableScratch]
	clear(buf[:start+headerLen])
	binary.BigEndian.PutUint16(buf[start+2:], flagQR|flagAA)
	binary.BigEndian.PutUint16(buf[start+4:], 1)
	binary.BigEndian.PutUint16(buf[start+6:], uint16(count))
	end, err := dns.PackDomainName(name, buf, start+headerLen, nil, false)
	if err != nil {
		return 0, 0, false
	}
	nameLen := end - start - headerLen
	binary.BigEndian.PutUint16(buf[end:], t)
	binary.BigEndian.PutUint16(buf[end+2:], dns.ClassINET)
	return end + 4, nameLen, true
}
