package dnsserver

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"sort"

	"github.com/miekg/dns"
)

// staticTable holds the answers of a zone set's plain static names
// (see compactName) without a node, an RRset or a dns.RR per record:
// each (name, type) is one pre-packed answer, back to back in large
// chunks, found through an open-addressing table of 32-bit references.
// With a million records that is about 60 bytes a record, where nodes,
// records and a map of packed answers cost over 300.
//
// An answer is stored as its length (2 bytes, big endian) followed by
// the wire response the zone set would have packed for it: header,
// question in lower case, the RRset in the answer section with the
// owner compressed to the question. Its question section is its key.
type staticTable struct {
	chunks [][]byte
	slots  []uint32 // reference + 1; 0 is an empty slot
	seed   maphash.Seed
	// entries is the number of answers: one per plain name and type.
	entries int
	// refs lists every answer in insertion order until build indexes
	// them.
	refs []uint32
}

const (
	tableChunkBits = 20
	tableChunk     = 1 << tableChunkBits
	// maxTableChunks keeps a reference in 32 bits.
	maxTableChunks = 1 << (32 - tableChunkBits)
)

// compactTypes are the types whose static answers the table holds: an
// answer of these is the RRset alone (no name in the data to chase or
// add glue for).
var compactTypes = [...]uint16{dns.TypeA, dns.TypeAAAA, dns.TypeTXT}

func isCompactType(t uint16) bool {
	for _, c := range compactTypes {
		if c == t {
			return true
		}
	}
	return false
}

// add packs rrs, the RRset of type t at name (lower case), as the answer
// to name/t, using buf (at least tableScratch bytes long) to build it. It
// returns false, storing nothing, when the answer does not fit a message
// or the table is full: the caller keeps the name as a node then.
func (st *staticTable) add(name string, t uint16, rrs []dns.RR, buf []byte) bool {
	end, nameLen, ok := st.header(name, t, len(rrs), buf)
	if !ok {
		return false
	}
	const start = 2 // the entry's length comes first
	buf = buf[:tableScratch]
	for _, rr := range rrs {
		next, err := dns.PackRR(rr, buf, end, nil, false)
		if err != nil || next-end < nameLen {
			return false // over the buffer: no message holds it
		}
		// The owner is the question's name: a pointer to it, as
		// miekg/dns compresses it.
		buf[end], buf[end+1] = 0xC0, headerLen
		copy(buf[end+2:], buf[end+nameLen:next])
		end = next - nameLen + 2
		if end-start > dns.MaxMsgSize {
			return false
		}
	}
	binary.BigEndian.PutUint16(buf, uint16(end-start))
	return st.keep(buf[:end])
}

// tableScratch is the size of add's buffer: a message and then some.
const tableScratch = 2 + dns.MaxMsgSize + 2*256

// keep copies an entry into the chunks and notes its reference.
func (st *staticTable) keep(entry []byte) bool {
	last := len(st.chunks) - 1
	if last < 0 || len(st.chunks[last])+len(entry) > tableChunk {
		if len(st.chunks) == maxTableChunks {
			return false
		}
		st.chunks = append(st.chunks, make([]byte, 0, tableChunk))
		last++
	}
	c := st.chunks[last]
	st.refs = append(st.refs, uint32(last)<<tableChunkBits|uint32(len(c)))
	st.chunks[last] = append(c, entry...)
	return true
}

// build indexes the answers added.
func (st *staticTable) build() {
	if len(st.refs) == 0 {
		st.refs = nil
		return
	}
	size := 1 << bits.Len(uint(len(st.refs))*2)
	st.slots = make([]uint32, size)
	mask := uint64(size - 1)
	for _, ref := range st.refs {
		w := st.answer(ref)
		i := maphash.Bytes(st.seed, tableKey(w)) & mask
		for st.slots[i] != 0 {
			i = (i + 1) & mask
		}
		st.slots[i] = ref + 1
	}
	st.refs = nil
}

// answer returns the packed answer at ref.
func (st *staticTable) answer(ref uint32) []byte {
	c := st.chunks[ref>>tableChunkBits]
	off := int(ref & (tableChunk - 1))
	n := int(binary.BigEndian.Uint16(c[off:]))
	return c[off+2 : off+2+n : off+2+n]
}

// tableKey is the key of a packed answer: its question's name and type,
// as parseQuery builds a query's key.
func tableKey(w []byte) []byte {
	off := headerLen
	for w[off] != 0 {
		off += 1 + int(w[off])
	}
	return w[headerLen : off+1+2]
}

// get returns the packed answer for key (the lower-cased wire name and
// the type), or nil. It does not allocate.
func (st *staticTable) get(key []byte) []byte {
	if len(st.slots) == 0 {
		return nil
	}
	mask := uint64(len(st.slots) - 1)
	for i := maphash.Bytes(st.seed, key) & mask; ; i = (i + 1) & mask {
		ref := st.slots[i]
		if ref == 0 {
			return nil
		}
		w := st.answer(ref - 1)
		if len(w) > headerLen+len(key) && bytes.Equal(w[headerLen:headerLen+len(key)], key) {
			return w
		}
	}
}

// node builds the node of name from the table, for the slow path and
// transfers, or returns nil when the table holds nothing there.
func (st *staticTable) node(name string) *node {
	if len(st.slots) == 0 {
		return nil
	}
	var n *node
	var key []byte
	for _, t := range compactTypes {
		key = wireKey(key[:0], name, t)
		w := st.get(key)
		if w == nil {
			continue
		}
		m := new(dns.Msg)
		if err := m.Unpack(w); err != nil || len(m.Answer) == 0 {
			continue // cannot be: packed from valid records
		}
		if n == nil {
			n = &node{name: name}
		}
		n.rrsets = append(n.rrsets, rrset{typ: t, rrs: m.Answer})
	}
	return n
}

// records lists the records of z's names in the table, sorted by owner
// name, each name's RRsets by type, as zone.staticRecords lists nodes'.
func (st *staticTable) records(z *zone) []dns.RR {
	type entry struct {
		name string
		typ  uint16
		ref  uint32
	}
	var all []entry
	for _, s := range st.slots {
		if s == 0 {
			continue
		}
		w := st.answer(s - 1)
		name, off, err := dns.UnpackDomainName(w, headerLen)
		if err != nil || !z.holds(name) {
			continue
		}
		all = append(all, entry{name, binary.BigEndian.Uint16(w[off:]), s - 1})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].name != all[j].name {
			return all[i].name < all[j].name
		}
		return all[i].typ < all[j].typ
	})
	var out []dns.RR
	for _, e := range all {
		m := new(dns.Msg)
		if err := m.Unpack(st.answer(e.ref)); err == nil {
			out = append(out, m.Answer...)
		}
	}
	return out
}
