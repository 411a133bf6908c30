package dnsserver

import (
	"sort"
	"strings"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/spec"
)

// zoneTransfer is a zone's hidden-primary settings: who may transfer it,
// whom to NOTIFY, and the TSIG keys those name (secrets stay in the
// environment; see Config.Getenv).
type zoneTransfer struct {
	rules  []spec.TransferRule
	notify []spec.NotifyTarget
	keys   map[string]spec.TSIGKey // by canonical name
}

// transferSettings collects the zones' transfer settings, and their TSIG
// keys in one map (a name the zones share keeps the first zone's key, in
// spec order). The spec is validated, so the entries parse.
func transferSettings(s *spec.Spec) (map[string]*zoneTransfer, map[string]spec.TSIGKey) {
	out, keys := map[string]*zoneTransfer{}, map[string]spec.TSIGKey{}
	for _, z := range s.Zones {
		if len(z.AllowTransfer)+len(z.AlsoNotify) == 0 {
			continue
		}
		zt := &zoneTransfer{keys: map[string]spec.TSIGKey{}}
		for _, k := range z.TSIGKeys {
			name := dns.CanonicalName(k.Name)
			zt.keys[name] = k
			if _, dup := keys[name]; !dup {
				keys[name] = k
			}
		}
		for _, a := range z.AllowTransfer {
			if r, err := spec.ParseTransferRule(a); err == nil {
				zt.rules = append(zt.rules, r)
			}
		}
		for _, a := range z.AlsoNotify {
			if t, err := spec.ParseNotifyTarget(a); err == nil {
				zt.notify = append(zt.notify, t)
			}
		}
		out[dns.CanonicalName(z.Name)] = zt
	}
	return out, keys
}

// Records returns every record of zone as a secondary should hold it: the
// SOA with the live serial first, then the static records, then the
// current answers of the health-driven records. A weighted record
// contributes the union of its variants: a secondary cannot weight. It
// returns nil for a zone not served.
func (s *Snapshot) Records(zone string) []dns.RR {
	origin := dns.CanonicalName(zone)
	z := s.zs.zones[origin]
	if z == nil {
		return nil
	}
	out := []dns.RR{s.soa[origin]}
	out = append(out, z.staticRecords()...)
	out = append(out, s.dynamicRecords(origin)...)
	return s.dnssec.signZone(s, z, out)
}

// staticRecords lists the zone's static records, by owner name.
func (z *zone) staticRecords() []dns.RR {
	names := make([]string, 0, len(z.nodes))
	n := 0
	for name, nd := range z.nodes {
		if len(nd.rrsets) > 0 {
			names = append(names, name)
			for _, set := range nd.rrsets {
				n += len(set.rrs)
			}
		}
	}
	sort.Strings(names)
	out := make([]dns.RR, 0, n)
	for _, name := range names {
		for _, set := range z.nodes[name].rrsets {
			out = append(out, set.rrs...)
		}
	}
	return z.withTableRecords(out)
}

// staticCount is the number of static records, without listing them.
func (z *zone) staticCount() int {
	n := 0
	for _, nd := range z.nodes {
		for _, set := range nd.rrsets {
			n += len(set.rrs)
		}
	}
	return n + z.tableRecords
}

// dynamicRecords lists the current answers of the zone's health-driven
// records, the variants of weighted ones merged.
func (s *Snapshot) dynamicRecords(origin string) []dns.RR {
	var out []dns.RR
	for _, d := range s.dynamic[origin] {
		start := len(out)
		for _, v := range d.Variants {
			for _, rr := range v.RRs {
				if !containsRR(out[start:], rr) {
					out = append(out, rr)
				}
			}
		}
	}
	return out
}

// diffRecords returns what to delete from old and add to it to get new,
// comparing records by their text (TTL included: a TTL change is a
// deletion and an addition, as in IXFR).
func diffRecords(old, new []dns.RR) (del, add []dns.RR) {
	have := make(map[string]int, len(old))
	for _, rr := range old {
		have[rrKey(rr)]++
	}
	want := make(map[string]int, len(new))
	for _, rr := range new {
		k := rrKey(rr)
		want[k]++
		if have[k] == 0 {
			add = append(add, rr)
		} else {
			have[k]--
		}
	}
	for _, rr := range old {
		k := rrKey(rr)
		if want[k] == 0 {
			del = append(del, rr)
		} else {
			want[k]--
		}
	}
	return del, add
}

func rrKey(rr dns.RR) string { return strings.ToLower(rr.String()) }
