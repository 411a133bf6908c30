package spec

import (
	"github.com/miekg/dns"
)

// packedRRs holds records in wire form (uncompressed), back to back: a
// zone's static records cost what their wire form does, about 30 bytes
// for an A record, instead of a dns.RR each (over 100 bytes with its
// name and address). A spec holds them as long as it is in force.
type packedRRs struct {
	wire  []byte
	count int
}

// all unpacks the records; each call makes new ones.
func (p packedRRs) all() []dns.RR {
	out := make([]dns.RR, 0, p.count)
	for off := 0; off < len(p.wire); {
		rr, next, err := dns.UnpackRR(p.wire, off)
		if err != nil {
			break // cannot be: packed by packRRs
		}
		out = append(out, rr)
		off = next
	}
	return out
}

// StaticRecords returns the zone's static records, nameservers
// included, in spec order with duplicates dropped; owner names are
// canonical. Each call unpacks them anew: the caller owns them.
func (cz *CompiledZone) StaticRecords() []dns.RR { return cz.static.all() }

// StaticCount is the number of static records.
func (cz *CompiledZone) StaticCount() int { return cz.static.count }

// StaticWire returns the zone's static records as StaticRecords has
// them, in wire form (uncompressed), back to back: for a reader that
// needs no dns.RR of most of them. The caller must not change it.
func (cz *CompiledZone) StaticWire() []byte { return cz.static.wire }
