package controller

import (
	"maps"
	"slices"

	"github.com/seed3787e6f1/detour/spec"
)

// Accessors for the HTTP API's views: the status page and drills. They
// read the state; call them inside FSM.Read.

// Pins returns the pin overrides by "name/type", the key EvaluatePinned
// takes.
func (st *State) Pins() map[string]*Override { return st.pins() }

// HealthWithout is the cluster's consensus health, drains applied, as if
// the observers in gone had stopped reporting. Pools are mapped to their
// datacenters (for datacenter drains) and the quorum rule is read from s,
// which may be a spec other than the one in force: a drill asks "what if"
// of a spec before it is applied.
func (st *State) HealthWithout(s *spec.Spec, gone map[string]bool) Health {
	c := consensus{st: st, quorum: spec.QuorumMajority, observed: len(st.Observers)}
	if s != nil && s.Quorum != "" {
		c.quorum = s.Quorum
	}
	for _, id := range slices.Sorted(maps.Keys(st.Observers)) {
		if st.Observers[id].Fresh && !gone[id] {
			c.fresh = append(c.fresh, id)
		}
	}
	d := drained{inner: c, drains: map[string]*Override{}, poolDC: map[string]string{}}
	for _, o := range st.Overrides {
		if o.Kind == OverrideDrain {
			d.drains[o.Target] = o
		}
	}
	if s != nil {
		for _, p := range s.Pools {
			d.poolDC[p.Name] = p.Datacenter
		}
	}
	return d
}
