package controller

import "github.com/seed3787e6f1/detour/spec"

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
	return st.drainsOver(st.consensusFor(s, gone), s)
}
