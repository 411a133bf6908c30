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
// Its key is the index's (rrsetTable.keys), and the TTLs it saw, when
// they differ, are in a map beside: 8 bytes an RRset.
type rrsetGroup struct {
	count int32  // records, duplicates included
	ttl   uint32 // of its last record
}

// groupStatic groups a zone's static records (owner names canonical,
// none pending): each RRset takes the TTL of its last record, as Knot
// DNS loads records whose TTLs differ (RFC 2181 5.2 makes the difference
// an error for the zone, and servers give the RRset one TTL rather than
// refuse it), exact duplicates go, and the records of each RRset come
// together, RRsets in the order they first appear, records in theirs.
// It returns the records' indexes in that order, each record's TTL, the
// RRsets whose TTLs it merged ("name TYPE: TTL a, b -> b") and the types
// each name holds.
//
// One map of RRsets, sized up front, is looked up once per record, and
// one of names once per RRset: growing five maps of a million entries
// was most of the time of compiling a million records.
func groupStatic(s *staticRecs) ([]int32, func(int32) uint32, []string, rrsetIndex) {
	recs := s.recs
	index := newRRsetTable(len(recs))
	groups := make([]rrsetGroup, 0, len(recs))
	of := make([]int32, len(recs)) // each record's group
	var order []int32              // groups whose TTLs differ, in order
	var ttls map[int32]string      // the TTLs they saw (for Lint)
	for i := range recs {
		r := &recs[i]
		k := rrsetKey{r.name, r.typ}
		gi, added := index.number(k)
		if added {
			groups = append(groups, rrsetGroup{ttl: r.ttl})
		}
		of[i] = gi
		g := &groups[gi]
		if g.ttl != r.ttl {
			if _, ok := ttls[gi]; !ok {
				if ttls == nil {
					ttls = map[int32]string{}
				}
				order = append(order, gi)
				ttls[gi] = strconv.FormatUint(uint64(g.ttl), 10)
			}
			ttls[gi] += ", " + strconv.FormatUint(uint64(r.ttl), 10)
		}
		g.ttl = r.ttl
		g.count++
	}
	var merged []string
	for _, gi := range order {
		k := index.keys[gi]
		merged = append(merged, fmt.Sprintf("%s %s: TTL %s -> %d", k.name, dns.TypeToString[k.typ], ttls[gi], groups[gi].ttl))
	}
	// Drop duplicates, counting what each RRset keeps.
	kept := make([]int32, len(groups))
	seen := map[string]bool{}
	n := 0
	for i := range recs {
		g := &groups[of[i]]
		if g.count > 1 {
			// Only records sharing a name and type can be duplicates
			// (records that differ in TTL alone are): the key of the
			// others is never made.
			k := s.dupKey(&recs[i], g.ttl)
			if seen[k] {
				of[i] = -1
				continue
			}
			seen[k] = true
		}
		kept[of[i]]++
		n++
	}
	// Place each RRset's records together.
	next := make([]int32, len(groups))
	at := int32(0)
	for gi, c := range kept {
		next[gi] = at
		at += c
	}
	out := make([]int32, n)
	for i := range recs {
		if gi := of[i]; gi >= 0 {
			out[next[gi]] = int32(i)
			next[gi]++
		}
	}
	ttlOf := func(i int32) uint32 { return groups[of[i]].ttl }
	// Every RRset keeps a record (its first): all are in the index.
	ix := rrsetIndex{sets: index, keys: index.keys}
	for _, k := range index.keys {
		ix.types = ix.types.add(k.typ)
	}
	return out, ttlOf, merged, ix
}

// rrsetIndex is the static RRsets of a zone, for conflict checks while
// validating: a map by name and type, which the checks probe with each
// of the zone's few types rather than keep a second map by name.
type rrsetIndex struct {
	sets  *rrsetTable
	keys  []rrsetKey // in order
	types typeSet    // every type the zone holds
}

// has says whether name holds static records of type t.
func (ix rrsetIndex) has(name string, t uint16) bool {
	return ix.sets.has(rrsetKey{name, t})
}

// at returns the types name holds.
func (ix rrsetIndex) at(name string) typeSet {
	var out typeSet
	for _, t := range ix.types {
		if ix.has(name, t) {
			out = append(out, t)
		}
	}
	return out
}

// inZone says whether name (canonical) is origin (canonical) or below
// it, as dns.IsSubDomain does, by a suffix for the common name.
func inZone(origin, name string) bool {
	if origin == "." || name == origin {
		return true
	}
	if strings.IndexByte(name, '\\') >= 0 {
		return dns.IsSubDomain(origin, name) // escapes: a dot may not end a label
	}
	return len(name) > len(origin) && strings.HasSuffix(name, origin) && name[len(name)-len(origin)-1] == '.'
}
