package dnsserver

import (
	"unsafe"

	"github.com/miekg/dns"
)

// packed is a pre-built response for one (name, type): the wire message
// with the question in lower case and no OPT record. A weighted record has
// one variant per possible answer, picked per query by weight; any other
// has only wire. Static zones hold one per name and type, so its size
// counts: with a million records every 16 bytes here is 16 MB.
type packed struct {
	wire     []byte
	variants []packedVariant // nil unless weighted
}

type packedVariant struct {
	cum  uint32 // cumulative weight up to and including this variant
	wire []byte
}

// choose picks a variant for the random number x.
func (p *packed) choose(x uint32) []byte {
	if p.variants == nil {
		return p.wire
	}
	x %= p.variants[len(p.variants)-1].cum
	for i := range p.variants {
		if x < p.variants[i].cum {
			return p.variants[i].wire
		}
	}
	return p.variants[len(p.variants)-1].wire
}

// packedKey returns the map key of a packed answer: the lower-cased wire
// question name and type, as parseQuery builds it. That is the start of
// the answer's question section, so the key shares the answer's memory
// instead of holding a copy (the answer is never written to).
func packedKey(wire []byte) string {
	off := headerLen
	for wire[off] != 0 {
		off += 1 + int(wire[off])
	}
	return unsafe.String(&wire[headerLen], off+1+2-headerLen)
}

// prepack packs every answer that depends on static data only, and notes
// the (name, type) pairs that each snapshot must pack.
func (zs *ZoneSet) prepack() {
	var mem arena
	buf := make([]byte, 512) // PackBuffer uses it when len(buf) suffices
	for _, z := range zs.zones {
		for name, n := range z.nodes {
			if n.cut || len(n.rrsets)+len(n.dyn) == 0 {
				continue
			}
			for _, t := range n.answerTypes() {
				r := &resolver{zs: zs}
				res := r.resolve(name, t)
				if r.dependsOnSnapshot {
					zs.overlayKeys = append(zs.overlayKeys, qkey{name, t})
					continue
				}
				if w := packResolution(&res, name, t, buf); w != nil {
					w = mem.keep(w)
					zs.fast[packedKey(w)] = &packed{wire: w}
				}
			}
		}
		zs.overlayKeys = append(zs.overlayKeys, qkey{z.origin, dns.TypeSOA})
	}
}

// answerTypes lists the types worth packing at n: those it holds, and A and
// AAAA through a CNAME.
func (n *node) answerTypes() []uint16 {
	var out []uint16
	for _, s := range n.rrsets {
		out = append(out, s.typ)
		if s.typ == dns.TypeCNAME {
			out = append(out, dns.TypeA, dns.TypeAAAA)
		}
	}
	for t := range n.dyn {
		out = append(out, t)
		if t == dns.TypeCNAME {
			out = append(out, dns.TypeA, dns.TypeAAAA)
		}
	}
	return out
}

// pack resolves name/type against the snapshot and packs every variant.
// It returns nil when the answer involves more than one weighted RRset
// (answered by the slow path).
func (s *Snapshot) pack(name string, t uint16) *packed {
	return s.packAs(name, t, false)
}

// packAs is pack, the answers signed when do (for queries with DO, see
// packDO). Answers the fast path does not take (several weighted
// RRsets) are left to the slow path.
func (s *Snapshot) packAs(name string, t uint16, do bool) *packed {
	var choices []Variant
	r := &resolver{zs: s.zs, snap: s, pick: func(v []Variant) int {
		if choices == nil {
			choices = v
		}
		return 0
	}}
	res := r.resolve(name, t)
	switch {
	case r.weightedSeen == 0:
		w := s.packRes(&res, name, t, do)
		if w == nil {
			return nil
		}
		return &packed{wire: w}
	case r.weightedSeen > 1:
		return nil
	}
	p := &packed{}
	var total uint32
	for i := range choices {
		r := &resolver{zs: s.zs, snap: s, pick: func([]Variant) int { return i }}
		res := r.resolve(name, t)
		w := s.packRes(&res, name, t, do)
		if w == nil {
			return nil
		}
		total += choices[i].Weight
		p.variants = append(p.variants, packedVariant{cum: total, wire: w})
	}
	p.wire = p.variants[0].wire
	return p
}

// packRes packs res, the answer to name/t, signing it first when do.
func (s *Snapshot) packRes(res *resolution, name string, t uint16, do bool) []byte {
	if do {
		s.dnssec.augment(s, res, name, t, false, true)
	}
	return packResolution(res, name, t, nil)
}

// packResolution packs res as a response to name/type, or returns nil if
// it cannot be packed. The result may alias buf.
func packResolution(res *resolution, name string, t uint16, buf []byte) []byte {
	if res.refused {
		return nil
	}
	w, err := res.msg(name, t).PackBuffer(buf)
	if err != nil {
		return nil
	}
	return w
}

// arena holds the static answers of a zone set back to back in large
// chunks: with a million of them, one allocation each would cost their
// size-class rounding and a million objects for the collector to mark.
type arena struct {
	chunk []byte
}

const arenaChunk = 1 << 20

// keep copies b into the arena and returns the copy.
func (a *arena) keep(b []byte) []byte {
	if cap(a.chunk)-len(a.chunk) < len(b) {
		a.chunk = make([]byte, 0, max(arenaChunk, len(b)))
	}
	start := len(a.chunk)
	a.chunk = append(a.chunk, b...)
	return a.chunk[start:len(a.chunk):len(a.chunk)]
}
