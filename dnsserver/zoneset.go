package dnsserver

import (
	"fmt"
	"hash/fnv"
	"sort"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/spec"
)

// ZoneSet is the static part of what the server answers: every zone's
// names and static records, compiled once per spec. Snapshots share it and
// add the health-driven answers on top.
type ZoneSet struct {
	zones map[string]*zone // by origin
	// maxLabels bounds the suffix walk when finding a zone.
	maxLabels int
	// fast holds pre-packed answers that depend on static data only.
	fast map[string]*packed
	// overlayKeys are the (name, type) pairs whose answers depend on
	// dynamic records or the SOA serial; each snapshot packs them anew.
	overlayKeys []qkey
	// xfr holds the transfer settings of the zones that have any.
	xfr map[string]*zoneTransfer
	// tsigKeys are the keys of all zones, by canonical name: those that
	// a signed query may use.
	tsigKeys map[string]spec.TSIGKey
	// dnssec holds the settings of the zones signed, by origin
	// (dnssec.go).
	dnssec map[string]*spec.DNSSEC
	// static holds the answers of the plain static names of every zone
	// (static_table.go); they have no node.
	static *staticTable
}

type zone struct {
	origin string
	soa    *dns.SOA // serial 0; snapshots carry the live serial
	nodes  map[string]*node
	// dynamic lists the health-driven RRsets in a fixed order; snapshots
	// hold their answers in the same order.
	dynamic []dynKey
	hash    uint64 // of the static content
	// dnames: some name holds a DNAME, so lookups check for one above.
	dnames bool
	// static is the zone set's table, which holds the zone's plain
	// names (nil when it holds none of them); inner are the origins of
	// the zones served below this one.
	static *staticTable
	inner  []string
	// tableRecords is the number of the zone's records in the table.
	tableRecords int
	// idx numbers the zone in its zone set; negFast says the fast path
	// answers its NXDOMAIN and NODATA (negative.go).
	idx     int
	negFast bool
}

// node is one owner name. Empty non-terminals are nodes without rrsets.
type node struct {
	name   string
	rrsets []rrset // sorted by type
	cut    bool    // NS below the apex: a delegation point
	// dyn maps a type to its index in the zone's dynamic list.
	dyn map[uint16]int
}

type rrset struct {
	typ uint16
	rrs []dns.RR
}

type dynKey struct {
	name string
	typ  uint16
}

type qkey struct {
	name string
	typ  uint16
}

// NewZoneSet compiles the spec's zones. The spec must be validated.
func NewZoneSet(s *spec.Spec) (*ZoneSet, error) {
	compiled := s.CompiledZones()
	if compiled == nil {
		return nil, fmt.Errorf("dnsserver: %w", ErrNotValidated)
	}
	zs := &ZoneSet{zones: map[string]*zone{}, fast: map[string]*packed{}, static: &staticTable{}}
	for _, cz := range compiled {
		z := newZone(cz, zs.compactRule(s, compiled, cz))
		zs.zones[z.origin] = z
		zs.maxLabels = max(zs.maxLabels, dns.CountLabel(z.origin))
	}
	zs.static.build()
	zs.prepack()
	zs.xfr, zs.tsigKeys = transferSettings(s)
	zs.dnssecSettings(s)
	zs.markNegative()
	return zs, nil
}

// newZone builds a zone from its compiled form; the names rule says
// may live in the zone set's table of static answers go there.
func newZone(cz *spec.CompiledZone, rule *compactRule) *zone {
	z := &zone{origin: cz.Name, nodes: map[string]*node{}}
	static := splitStatic(cz.StaticWire()) // a dns.RR only for what nodes keep (bigload_wire.go)
	soa := *cz.SOA
	soa.Hdr.Name = cz.Name
	z.soa = &soa
	z.addNode(cz.Name)
	// The records of each RRset come together (StaticRecords), RRsets
	// in spec order: a new RRset starts where the name or type changes.
	order, start := static.rrsets()
	h := fnv.New64a()
	compact := rule.place(z, order, start, &static, cz.Dynamic)
	start, all := static.keepNodes(start, compact)
	for i, k := range order {
		if compact[i] {
			continue
		}
		n := z.addNode(k.name)
		n.rrsets = append(n.rrsets, rrset{typ: k.typ, rrs: all[start[i]:start[i+1]:start[i+1]]})
		if k.typ == dns.TypeNS && k.name != z.origin {
			n.cut = true
		}
		z.dnames = z.dnames || k.typ == dns.TypeDNAME
	}
	fmt.Fprintf(h, "%x\n", static.hash())
	fmt.Fprintf(h, "%s %s %d %d %d %d %d", soa.Ns, soa.Mbox, soa.Hdr.Ttl, soa.Refresh, soa.Retry, soa.Expire, soa.Minttl)
	for _, r := range cz.Dynamic {
		t := dns.StringToType[r.Type]
		n := z.addNode(r.Name)
		if n.dyn == nil {
			n.dyn = map[uint16]int{}
		}
		n.dyn[t] = len(z.dynamic)
		z.dynamic = append(z.dynamic, dynKey{r.Name, t})
		fmt.Fprintf(h, "dyn %s %d\n", r.Name, t)
	}
	z.hash = h.Sum64()
	for _, n := range z.nodes {
		sort.Slice(n.rrsets, func(i, j int) bool { return n.rrsets[i].typ < n.rrsets[j].typ })
	}
	return z
}

// addNode adds name and every empty non-terminal between it and the apex.
func (z *zone) addNode(name string) *node {
	n := z.nodes[name]
	if n != nil {
		return n
	}
	n = &node{name: name}
	z.nodes[name] = n
	for off, end := dns.NextLabel(name, 0); !end && len(name[off:]) > len(z.origin); off, end = dns.NextLabel(name, off) {
		if _, ok := z.nodes[name[off:]]; ok {
			break
		}
		z.nodes[name[off:]] = &node{name: name[off:]}
	}
	return n
}

func (n *node) rrset(t uint16) []dns.RR {
	for i := range n.rrsets {
		if n.rrsets[i].typ == t {
			return n.rrsets[i].rrs
		}
	}
	return nil
}

// findZone returns the zone holding name (lower case, fully qualified),
// the most specific one when zones nest.
func (zs *ZoneSet) findZone(name string) *zone {
	labels := dns.CountLabel(name)
	off := 0
	for labels > zs.maxLabels {
		off, _ = dns.NextLabel(name, off)
		labels--
	}
	for {
		if z := zs.zones[name[off:]]; z != nil {
			return z
		}
		if off >= len(name)-1 {
			return zs.zones["."]
		}
		off, _ = dns.NextLabel(name, off)
	}
}

// zoneFor returns the zone that answers name/qtype: the one holding name,
// except for DS at the apex of a zone whose parent zone is served here
// too, which the parent answers (RFC 4035 3.1.4.1: the DS RRset lives
// in the parent, signed by it, at the delegation).
func (zs *ZoneSet) zoneFor(name string, qtype uint16) *zone {
	z := zs.findZone(name)
	if qtype != dns.TypeDS || z == nil || z.origin != name || name == "." {
		return z
	}
	off, _ := dns.NextLabel(name, 0)
	if p := zs.findZone(name[off:]); p != nil {
		return p
	}
	return z
}

// Zones returns the origins served, sorted.
func (zs *ZoneSet) Zones() []string {
	out := make([]string, 0, len(zs.zones))
	for o := range zs.zones {
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}
