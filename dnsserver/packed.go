package dnsserver

import (
	"github.com/miekg/dns"
)

// packed is a pre-built response for one (name, type): the wire message
// with the question in lower case and no OPT record. A weighted record has
// one variant per possible answer, picked per query by weight.
type packed struct {
	variants []packedVariant
	total    uint32
}

type packedVariant struct {
	cum  uint32 // cumulative weight up to and including this variant
	wire []byte
}

// choose picks a variant for the random number x.
func (p *packed) choose(x uint32) []byte {
	if len(p.variants) == 1 {
		return p.variants[0].wire
	}
	x %= p.total
	for i := range p.variants {
		if x < p.variants[i].cum {
			return p.variants[i].wire
		}
	}
	return p.variants[len(p.variants)-1].wire
}

// prepack packs every answer that depends on static data only, and notes
// the (name, type) pairs that each snapshot must pack.
func (zs *ZoneSet) prepack() {
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
				if w := packResolution(&res, name, t); w != nil {
					zs.fast[string(wireKey(nil, name, t))] = &packed{variants: []packedVariant{{cum: 1, wire: w}}, total: 1}
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
		w := packResolution(&res, name, t)
		if w == nil {
			return nil
		}
		return &packed{variants: []packedVariant{{cum: 1, wire: w}}, total: 1}
	case r.weightedSeen > 1:
		return nil
	}
	p := &packed{}
	for i := range choices {
		r := &resolver{zs: s.zs, snap: s, pick: func([]Variant) int { return i }}
		res := r.resolve(name, t)
		w := packResolution(&res, name, t)
		if w == nil {
			return nil
		}
		p.total += choices[i].Weight
		p.variants = append(p.variants, packedVariant{cum: p.total, wire: w})
	}
	return p
}

// packResolution packs res as a response to name/type, or returns nil if
// it cannot be packed.
func packResolution(res *resolution, name string, t uint16) []byte {
	if res.refused {
		return nil
	}
	w, err := res.msg(name, t).Pack()
	if err != nil {
		return nil
	}
	return w
}
