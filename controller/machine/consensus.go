package machine

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/seed3787e6f1/detour/policy"
	"github.com/seed3787e6f1/detour/spec"
)

// consensus is the cluster's view of endpoint health: an endpoint is down
// when enough fresh observers say so (the spec's quorum rule).
type consensus struct {
	obs      map[string]*ObserverRecord
	quorum   string
	fresh    []string // fresh observer IDs, sorted
	observed int      // all observers, fresh or not
}

func (st *State) consensus() consensus { return st.consensusFor(st.spec, nil) }

// consensusFor is the consensus under the quorum rule of s (majority when
// s is nil or says nothing), counting the fresh observers but those in
// gone.
func (st *State) consensusFor(s *spec.Spec, gone map[string]bool) consensus {
	return consensusOf(st.Observers, s, gone)
}

// consensusOf is consensusFor over the observer records obs.
func consensusOf(obs map[string]*ObserverRecord, s *spec.Spec, gone map[string]bool) consensus {
	c := consensus{obs: obs, quorum: spec.QuorumMajority, observed: len(obs)}
	if s != nil && s.Quorum != "" {
		c.quorum = s.Quorum
	}
	for _, id := range slices.Sorted(maps.Keys(obs)) {
		if obs[id].Fresh && !gone[id] {
			c.fresh = append(c.fresh, id)
		}
	}
	return c
}

// needed is how many down votes out of n fresh observers make an endpoint
// down.
func (c consensus) needed(n int) int {
	switch c.quorum {
	case spec.QuorumAny:
		return 1
	case spec.QuorumAll:
		return n
	case spec.QuorumMajority, "":
		return n/2 + 1
	}
	k, _ := strconv.Atoi(c.quorum)
	return min(k, n)
}

// Endpoint implements Health.
func (c consensus) Endpoint(pool, addr string) EndpointHealth {
	k := targetKey(pool, addr)
	var down []string
	known := 0
	for _, id := range c.fresh {
		v := c.obs[id].Verdicts[k]
		if v == nil {
			continue
		}
		known++
		if !v.Up {
			down = append(down, id+": "+v.Reason)
		}
	}
	n := len(c.fresh)
	if known == 0 || n == 0 {
		return EndpointHealth{}
	}
	need := max(c.needed(n), 1)
	if len(down) >= need {
		return EndpointHealth{Known: true, Up: false,
			Reason: fmt.Sprintf("%d/%d observers: %s", len(down), n, strings.Join(down, "; "))}
	}
	if len(down) > 0 {
		return EndpointHealth{Known: true, Up: true,
			Reason: fmt.Sprintf("up: only %d/%d observers see it down (%s), %d needed", len(down), n, strings.Join(down, "; "), need)}
	}
	return EndpointHealth{Known: true, Up: true}
}

// drained applies drain overrides on top of another Health.
type drained struct {
	inner  Health
	drains map[string]*Override // by target
	poolDC map[string]string
}

func (st *State) withDrains(h Health) Health { return st.drainsOver(h, st.spec) }

// drainsOver applies the drain overrides to h, mapping pools to their
// datacenters by s.
func (st *State) drainsOver(h Health, s *spec.Spec) Health {
	return drainsOf(st.Overrides, h, s)
}

// drainsOf is drainsOver with the overrides given.
func drainsOf(overrides map[string]*Override, h Health, s *spec.Spec) Health {
	d := drained{inner: h, drains: map[string]*Override{}, poolDC: map[string]string{}}
	for _, o := range overrides {
		if o.Kind == OverrideDrain {
			d.drains[o.Target] = o
		}
	}
	if len(d.drains) == 0 {
		return h
	}
	if s != nil {
		for _, p := range s.Pools {
			d.poolDC[p.Name] = p.Datacenter
		}
	}
	return d
}

// Endpoint implements Health: a drained target counts as down and says why.
func (d drained) Endpoint(pool, addr string) EndpointHealth {
	for _, t := range []string{targetKey(pool, addr), pool, d.poolDC[pool]} {
		if o := d.drains[t]; o != nil {
			return EndpointHealth{Known: true, Up: false, Reason: fmt.Sprintf("drained %s by %s: %s", t, orUnknown(o.Author), o.Reason)}
		}
	}
	return d.inner.Endpoint(pool, addr)
}

func (st *State) pins() map[string]*Override { return pinsOf(st.Overrides) }

// pinsOf returns the pin overrides by "name/type".
func pinsOf(overrides map[string]*Override) map[string]*Override {
	out := map[string]*Override{}
	for _, o := range overrides {
		if o.Kind == OverridePin {
			out[o.Record+"/"+o.Type] = o
		}
	}
	return out
}

// derive recomputes consensus health and every record's answer. With log
// set, endpoint transitions and changed answers go to the event log.
func (st *State) derive(log bool) {
	if st.spec == nil {
		st.health, st.decisions = nil, nil
		return
	}
	c := st.rememberVerdicts(st.consensus())
	health := map[string]EndpointHealth{}
	for _, p := range st.spec.Pools {
		for _, ep := range p.Endpoints {
			k := targetKey(p.Name, ep.Address)
			h := c.Endpoint(p.Name, ep.Address)
			health[k] = h
			if !log {
				continue
			}
			wasDown, isDown := isDown(st.health[k]), isDown(h)
			switch {
			case isDown && !wasDown:
				st.event(st.Now, "endpoint", k, fmt.Sprintf("%s is down%s: %s", k, st.neverUp(k), h.Reason))
			case wasDown && !isDown:
				st.event(st.Now, "endpoint", k, fmt.Sprintf("%s is up again", k))
			}
		}
	}
	h := st.withDrains(c)
	// The spec's index serves the reports that follow (deriveSome):
	// built here, with the spec's first derivation, not by the first
	// failover.
	ix := st.index()
	pins := policyPins(st.pins())
	decisions := make([]Decision, len(st.spec.Records))
	for i := range st.spec.Records {
		decisions[i] = policy.EvaluateRecord(st.spec, &st.spec.Records[i], ix.pools, h, pins)
	}
	decisions = st.holdFailbacksOf(decisions, h, log, nil)
	st.keep(c, health)
	if log {
		old := map[string]Decision{}
		for _, d := range st.decisions {
			old[d.Name+"/"+d.Type] = d
		}
		for _, d := range decisions {
			o, ok := old[d.Name+"/"+d.Type]
			st.logRecord(o, ok, d)
		}
	}
	st.health, st.decisions = health, decisions
}

func isDown(h EndpointHealth) bool { return h.Known && !h.Up }

func describe(d Decision) string { return d.Phrase() }

// Decisions returns every record's current answer and why.
func (st *State) Decisions() []Decision { return slices.Clone(st.decisions) }
