package spec

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// rrsetKey is one static RRset: an owner name (canonical) and a type.
type rrsetKey struct {
	name string
	typ  uint16
}

// rrsetGroup is what compiling learns of one static RRset.
type rrsetGroup struct {
	count int32  // records, duplicates included
	ttl   uint32 // of its last record
	ttls  string // the TTLs seen, when they differ (for Lint)
}

// groupStatic makes rrs (owner names canonical) a zone's static
// records: each RRset takes the TTL of its last record, as Knot DNS
// loads records whose TTLs differ (RFC 2181 5.2 makes the difference an
// error for the zone, and servers give the RRset one TTL rather than
// refuse it), and exact duplicates go, order kept. It returns the
// records, the RRsets whose TTLs it merged ("name TYPE: TTL a, b -> b")
// and the types each name holds.
//
// One map of RRsets and one of names, both sized up front, do the work
// of the five a big zone used to grow: growing them was most of the time
// of compiling a million records.
func groupStatic(rrs []dns.RR) ([]dns.RR, []string, map[string]typeSet) {
	groups := make(map[rrsetKey]*rrsetGroup, len(rrs))
	slab := make([]rrsetGroup, 0, len(rrs))
	var order []rrsetKey // RRsets whose TTLs differ, in order
	for _, rr := range rrs {
		h := rr.Header()
		k := rrsetKey{h.Name, h.Rrtype}
		g := groups[k]
		if g == nil {
			slab = append(slab, rrsetGroup{ttl: h.Ttl})
			g = &slab[len(slab)-1]
			groups[k] = g
		}
		if g.ttl != h.Ttl {
			if g.ttls == "" {
				order = append(order, k)
				g.ttls = strconv.FormatUint(uint64(g.ttl), 10)
			}
			g.ttls += ", " + strconv.FormatUint(uint64(h.Ttl), 10)
		}
		g.ttl = h.Ttl
		g.count++
	}
	var merged []string
	for _, k := range order {
		g := groups[k]
		merged = append(merged, fmt.Sprintf("%s %s: TTL %s -> %d", k.name, dns.TypeToString[k.typ], g.ttls, g.ttl))
	}
	types := make(map[string]typeSet, len(groups))
	seen := map[string]bool{}
	out := rrs[:0]
	for _, rr := range rrs {
		h := rr.Header()
		g := groups[rrsetKey{h.Name, h.Rrtype}]
		h.Ttl = g.ttl // before the duplicate check: records that differ in TTL alone are duplicates
		if g.count > 1 {
			// Only records sharing a name and type can be duplicates:
			// the text of the others is never made.
			k := strings.ToLower(rr.String())
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		out = append(out, rr)
		types[h.Name] = types[h.Name].add(h.Rrtype)
	}
	clear(rrs[len(out):]) // let the dropped records go
	return out, merged, types
}
