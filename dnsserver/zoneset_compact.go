package dnsserver

import (
	"slices"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/spec"
)

// compactRule says which names of one zone the zone set's static table
// may hold instead of nodes: plain names, whose every answer is packed
// once and whose node the slow path can rebuild from those answers.
type compactRule struct {
	table *staticTable
	// inner are the origins of the zones served below this one: a name
	// there belongs to them.
	inner []string
}

// compactRule returns the rule for cz, or nil when none of its names
// may go to the table: a signed zone (its answers are signed per
// snapshot, and the signer walks its nodes).
func (zs *ZoneSet) compactRule(s *spec.Spec, compiled []*spec.CompiledZone, cz *spec.CompiledZone) *compactRule {
	for i := range s.Zones {
		if dns.CanonicalName(s.Zones[i].Name) == cz.Name && s.Zones[i].DNSSEC.On() {
			return nil
		}
	}
	r := &compactRule{table: zs.static}
	for _, o := range compiled {
		if o.Name != cz.Name && dns.IsSubDomain(cz.Name, o.Name) {
			r.inner = append(r.inner, o.Name)
		}
	}
	return r
}

// place puts the RRsets of z's plain names (order, each records
// start[i] to start[i+1] of all) into the table and reports which it
// placed.
// A name is plain when it is not the apex, not a wildcard, has no name
// below it, no delegation at or above it, no health-driven record, holds
// only RRsets of compactTypes, and belongs to no zone nested in z. A
// plain name whose answer does not fit a message stays a node.
func (r *compactRule) place(z *zone, order []dynKey, start []int, all *staticWire, dynamic []*spec.Record) []bool {
	compact := make([]bool, len(order))
	if r == nil {
		return compact
	}
	not := map[string]bool{} // names that are not plain
	var cuts map[string]bool
	mark := func(name string) { // name has names below it
		for off, end := dns.NextLabel(name, 0); !end && len(name[off:]) > len(z.origin); off, end = dns.NextLabel(name, off) {
			if not[name[off:]] {
				return
			}
			not[name[off:]] = true
		}
	}
	for _, k := range order {
		mark(k.name)
		if !isCompactType(k.typ) {
			not[k.name] = true
		}
		if k.typ == dns.TypeNS && k.name != z.origin {
			if cuts == nil {
				cuts = map[string]bool{}
			}
			cuts[k.name] = true
		}
	}
	for _, d := range dynamic {
		mark(d.Name)
		not[d.Name] = true
	}
	plain := func(name string) bool {
		if name == z.origin || not[name] || len(name) > 1 && name[0] == '*' && name[1] == '.' {
			return false
		}
		for _, o := range r.inner {
			if dns.IsSubDomain(o, name) {
				return false
			}
		}
		if cuts != nil {
			for off, end := 0, false; !end && len(name[off:]) > len(z.origin); off, end = dns.NextLabel(name, off) {
				if cuts[name[off:]] {
					return false
				}
			}
		}
		return true
	}
	buf := make([]byte, tableScratch)
	var failed map[string]bool
	for i, k := range order {
		if !plain(k.name) {
			continue
		}
		if !r.table.addWire(k.name, k.typ, all, start[i], start[i+1], buf) {
			if failed == nil {
				failed = map[string]bool{}
			}
			failed[k.name] = true
			continue
		}
		compact[i] = true
		z.addAncestors(k.name)
	}
	if failed != nil {
		r.table.drop(failed)
		for i, k := range order {
			if failed[k.name] {
				compact[i] = false
			}
		}
	}
	placed, records := 0, 0
	for i, c := range compact {
		if c {
			placed++
			records += start[i+1] - start[i]
		}
	}
	if placed > 0 {
		r.table.entries += placed
		z.static, z.inner, z.tableRecords = r.table, r.inner, records
	}
	return compact
}

// addAncestors adds every empty non-terminal between name and the apex,
// name itself excepted.
func (z *zone) addAncestors(name string) {
	off, end := dns.NextLabel(name, 0)
	if end || len(name[off:]) <= len(z.origin) {
		return
	}
	z.addNode(name[off:])
}

// drop removes the answers of names from the table before build.
func (st *staticTable) drop(names map[string]bool) {
	out := st.refs[:0]
	for _, ref := range st.refs {
		name, _, err := dns.UnpackDomainName(st.answer(ref), headerLen)
		if err == nil && names[name] {
			continue
		}
		out = append(out, ref)
	}
	st.refs = out
}

// lookup returns the node of name in z, rebuilt from the static table
// for a plain name, or nil.
func (z *zone) lookup(name string) *node {
	if n := z.nodes[name]; n != nil || z.static == nil {
		return n
	}
	return z.static.node(name)
}

// exists says whether name is a name of z.
func (z *zone) exists(name string) bool {
	if _, ok := z.nodes[name]; ok {
		return true
	}
	return z.static != nil && z.static.node(name) != nil
}

// staticAnswer returns the packed static answer for key (a query's
// lower-cased wire name and type) from the table, or nil. It does not
// allocate: for the fast path.
func (zs *ZoneSet) staticAnswer(key []byte) []byte {
	return zs.static.get(key)
}

// holds says whether name, a name of the static table, is one of z's:
// the table is shared by the zones of a zone set.
func (z *zone) holds(name string) bool {
	return z.static != nil && dns.IsSubDomain(z.origin, name) && !slices.ContainsFunc(z.inner, func(o string) bool {
		return dns.IsSubDomain(o, name)
	})
}

// withTableRecords merges the records of z's names in the static table
// into out, the records of its nodes sorted by owner name, keeping that
// order.
func (z *zone) withTableRecords(out []dns.RR) []dns.RR {
	if z.static == nil {
		return out
	}
	tab := z.static.records(z)
	merged := make([]dns.RR, 0, len(out)+len(tab))
	i, j := 0, 0
	for i < len(out) || j < len(tab) {
		if j == len(tab) || i < len(out) && out[i].Header().Name <= tab[j].Header().Name {
			merged = append(merged, out[i])
			i++
			continue
		}
		merged = append(merged, tab[j])
		j++
	}
	return merged
}
