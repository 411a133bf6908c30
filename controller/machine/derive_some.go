package machine

// Deriving after a report: only what the report can have moved.
//
// A full derive judges every endpoint and decides every record: at
// 10,000 records and 30,000 endpoints, a third of a second of CPU on the
// apply path for every report, however few verdicts it changed. A report
// from an observer that was fresh and stays fresh changes the verdicts of
// the endpoints it names and nothing else the derivation reads (the
// fresh observers, the spec, the overrides, the last known verdicts of
// the other endpoints all stay), so deriveSome judges those endpoints
// again and decides again only the records whose pools hold one whose
// health changed. Every other endpoint's health, every other record's
// decision and fail-back hold are what a full derive would compute again
// (it did compute them, from the same inputs), so the state, the events
// and their order are those of a full derive: endpoints in spec order,
// then holds and records in spec order. TestDeriveSomeIsDeriveAll checks
// it on random histories.

import (
	"fmt"
	"maps"
	"slices"

	"github.com/seed3787e6f1/detour/policy"
	"github.com/seed3787e6f1/detour/spec"
)

// verdictDelta is what a report changed, for deriveSome: the endpoints
// ("pool/address") whose verdicts it set or forgot.
type verdictDelta struct {
	keys []string
}

// specIndex is what deriveSome looks up in a spec, built once per spec.
type specIndex struct {
	spec *spec.Spec
	// endpoints in spec order (pools, then their endpoints), and each
	// one's position by key
	endpoints []indexedEndpoint
	ordinal   map[string]int
	// records whose decision reads a pool's health, by pool, in spec
	// order; and each record's position by "name/type"
	recordsOf map[string][]int
	record    map[string]int
	pools     map[string]*spec.Pool
}

type indexedEndpoint struct {
	pool, addr, key string
}

// index returns the index of the spec in force.
func (st *State) index() *specIndex {
	if st.ix != nil && st.ix.spec == st.spec {
		return st.ix
	}
	s := st.spec
	ix := &specIndex{spec: s, ordinal: map[string]int{}, recordsOf: map[string][]int{}, record: make(map[string]int, len(s.Records)), pools: policy.Pools(s)}
	for _, p := range s.Pools {
		for _, ep := range p.Endpoints {
			k := targetKey(p.Name, ep.Address)
			if _, dup := ix.ordinal[k]; !dup {
				ix.ordinal[k] = len(ix.endpoints)
				ix.endpoints = append(ix.endpoints, indexedEndpoint{pool: p.Name, addr: ep.Address, key: k})
			}
		}
	}
	for i := range s.Records {
		r := &s.Records[i]
		ix.record[holdKey(r.Name, r.Type)] = i
		for _, p := range policy.RecordPools(r) {
			ix.recordsOf[p] = append(ix.recordsOf[p], i)
		}
	}
	st.ix = ix
	return ix
}

// deriveSome is derive(true) after a report that changed the verdicts
// of d's endpoints only (see the top of this file).
func (st *State) deriveSome(d *verdictDelta) {
	ix := st.index()
	ords := make([]int, 0, len(d.keys))
	for _, k := range d.keys {
		if o, ok := ix.ordinal[k]; ok {
			ords = append(ords, o)
		}
	}
	slices.Sort(ords)
	ords = slices.Compact(ords)
	c := st.rememberVerdicts(st.consensus())
	changed := false           // st.health, which no view shares
	moved := map[string]bool{} // pools an endpoint of which changed health
	for _, o := range ords {
		ep := ix.endpoints[o]
		h, was := c.Endpoint(ep.pool, ep.addr), st.health[ep.key]
		if h == was {
			continue
		}
		switch wasDown, isDown := isDown(was), isDown(h); {
		case isDown && !wasDown:
			st.event(st.Now, "endpoint", ep.key, fmt.Sprintf("%s is down%s: %s", ep.key, st.neverUp(ep.key), h.Reason))
		case wasDown && !isDown:
			st.event(st.Now, "endpoint", ep.key, fmt.Sprintf("%s is up again", ep.key))
		}
		if st.health == nil {
			st.health = map[string]EndpointHealth{}
		}
		st.health[ep.key] = h
		changed, moved[ep.pool] = true, true
	}
	st.keepSome(c, ix, ords)
	if !changed {
		return // no endpoint's health changed: no decision can have
	}
	recs := st.recordsMoved(ix, moved)
	if len(recs) == 0 {
		return
	}
	h := st.withDrains(c)
	pins := policyPins(st.pins())
	ds := slices.Clone(st.decisions)
	for _, i := range recs {
		ds[i] = policy.EvaluateRecord(st.spec, &st.spec.Records[i], ix.pools, h, pins)
	}
	ds = st.holdFailbacksOf(ds, h, true, recs)
	for _, i := range recs {
		st.logRecord(st.decisions[i], true, ds[i])
	}
	st.decisions = ds
}

// recordsMoved lists, in spec order, the records whose decision reads a
// pool in moved: through their pools, their geo rules or a pin.
func (st *State) recordsMoved(ix *specIndex, moved map[string]bool) []int {
	var recs []int
	for p := range moved {
		recs = append(recs, ix.recordsOf[p]...)
	}
	for k, o := range st.pins() {
		if i, ok := ix.record[k]; ok && moved[o.Pool] {
			recs = append(recs, i)
		}
	}
	slices.Sort(recs)
	return slices.Compact(recs)
}

// keepSome is keep for the endpoints at ords alone: the others' last
// known verdicts cannot have changed.
func (st *State) keepSome(r *remembered, ix *specIndex, ords []int) {
	var next map[string]LastVerdict // copied on the first change: views share it
	for _, o := range ords {
		k := ix.endpoints[o].key
		v, ok := r.reached[k]
		if !ok {
			continue
		}
		if old, had := st.LastKnown[k]; had && old == v {
			continue
		}
		if next == nil {
			next = maps.Clone(st.LastKnown)
			if next == nil {
				next = map[string]LastVerdict{}
			}
		}
		next[k] = v
	}
	if next != nil {
		st.LastKnown = next
	}
}

// logRecord logs a record's new answer when it differs from the old one
// (had: it had one).
func (st *State) logRecord(o Decision, had bool, d Decision) {
	if had && o.SameAnswer(d) {
		return
	}
	was := "nothing"
	if had {
		was = describe(o)
	}
	st.event(st.Now, "record", d.Name+" "+d.Type, fmt.Sprintf("%s %s now answers %s (was %s): %s", d.Name, d.Type, describe(d), was, d.Reason))
}
