package policy

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/seed3787e6f1/detour/spec"
)

// GeoAnswer is one client-dependent answer of a geo or nearest record:
// a geo rule's answer, or a nearest record's answer from one pool. The
// DNS server picks one per query by where the client is.
type GeoAnswer struct {
	// Match is the rule's matches (geo records).
	Match []string `json:"match,omitempty"`
	// Datacenter and Location say where the pool is (nearest records).
	Datacenter string         `json:"datacenter,omitempty"`
	Location   *spec.Location `json:"location,omitempty"`
	// Pool, Answers, Reason and Fallback are as in Decision.
	Pool     string   `json:"pool"`
	Answers  []string `json:"answers"`
	Reason   string   `json:"reason"`
	Fallback bool     `json:"fallback,omitempty"`
	// Pass says clients go on to the next choice: a geo rule with no
	// healthy pool and on_all_down next, or an unhealthy pool of a
	// nearest record.
	Pass bool `json:"pass,omitempty"`
	// Groups are what is served, as in Decision.
	Groups []AnswerGroup `json:"-"`
}

// decideGeo decides a geo or nearest record: one GeoAnswer per rule or
// pool, and as the record's own answer the one for clients the database
// does not place (the default rule, or the pools in datacenter order),
// which providers and secondaries carry.
func decideGeo(s *spec.Spec, r *spec.Record, pools map[string]*spec.Pool, h Health) Decision {
	if r.Policy == spec.PolicyNearest {
		return decideNearest(s, r, pools, h)
	}
	var d Decision
	var rules []GeoAnswer
	for i, g := range r.Geo {
		rd := decide(failoverOver(r, g.Pools), pools, h)
		ga := GeoAnswer{Match: g.Match, Pool: rd.Pool, Answers: rd.Answers, Reason: rd.Reason, Fallback: rd.Fallback, Groups: rd.Groups}
		last := i == len(r.Geo)-1
		if rd.Fallback && g.OnAllDown == spec.GeoNext && !last {
			ga = GeoAnswer{Match: g.Match, Pass: true, Reason: rd.Reason + "; falling through to the next matching rule (on_all_down: next)"}
		}
		rules = append(rules, ga)
		if last {
			d = rd
			d.Reason = "default rule: " + rd.Reason
		}
	}
	d.Geo, d.GeoPolicy = rules, spec.PolicyGeo
	return d
}

// failoverOver is r as a failover record over the pools named.
func failoverOver(r *spec.Record, names []string) *spec.Record {
	sub := *r
	sub.Policy = spec.PolicyFailover
	sub.Pools = make([]spec.PoolRef, len(names))
	for j, p := range names {
		sub.Pools[j] = spec.PoolRef{Pool: p, Weight: 1}
	}
	return &sub
}

// decideNearest decides a nearest record: each pool's answer, and as
// the record's own answer failover over its pools in the order of the
// spec's datacenters.
func decideNearest(s *spec.Spec, r *spec.Record, pools map[string]*spec.Pool, h Health) Decision {
	order := map[string]int{}
	locs := map[string]*spec.Location{}
	for i, dc := range s.Datacenters {
		order[dc.Name] = i
		locs[dc.Name] = dc.Location
	}
	names := make([]string, len(r.Pools))
	for i, ref := range r.Pools {
		names[i] = ref.Pool
	}
	slices.SortStableFunc(names, func(a, b string) int {
		return cmp.Compare(order[pools[a].Datacenter], order[pools[b].Datacenter])
	})
	d := decide(failoverOver(r, names), pools, h)
	d.Reason = "clients not placed, datacenter order: " + d.Reason
	d.GeoPolicy = spec.PolicyNearest
	for _, ref := range r.Pools {
		p := pools[ref.Pool]
		st := EvaluatePool(p, h)
		ga := GeoAnswer{Datacenter: p.Datacenter, Location: locs[p.Datacenter], Pool: p.Name, Pass: !st.Healthy}
		if st.Healthy {
			ga.Answers = AnswerAddrs(r, st.Up)
			ga.Groups = Single(ga.Answers)
			ga.Reason = fmt.Sprintf("pool %s is healthy (%d/%d up)", p.Name, len(st.Up), len(p.Endpoints))
		} else {
			ga.Reason = "unhealthy: " + st.Summary() + "; clients go to the next nearest"
		}
		d.Geo = append(d.Geo, ga)
	}
	return d
}

// sameGeo reports whether two records' geo answers answer alike.
func sameGeo(a, b []GeoAnswer) bool {
	return slices.EqualFunc(a, b, func(a, b GeoAnswer) bool {
		return a.Pool == b.Pool && a.Pass == b.Pass && a.Fallback == b.Fallback && slices.Equal(a.Answers, b.Answers)
	})
}
