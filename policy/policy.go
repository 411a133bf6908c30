package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/seed3787e6f1/detour/spec"
)

// EndpointHealth is what is known of one endpoint.
type EndpointHealth struct {
	// Known is false until an observer has reported; an unknown endpoint
	// counts as up, so answers are served from the first second.
	Known  bool
	Up     bool
	Reason string
}

// Health reports endpoint health by pool and endpoint address.
type Health interface {
	Endpoint(pool, address string) EndpointHealth
}

// AllUp is a Health for which every endpoint is unknown, so up.
type AllUp struct{}

// Endpoint reports nothing known.
func (AllUp) Endpoint(string, string) EndpointHealth { return EndpointHealth{} }

// Pin makes a record answer from one pool whatever the health says.
type Pin struct {
	Pool   string
	Author string
	Reason string
}

// AnswerGroup is one possible answer of a record: addresses (A, AAAA)
// or one target (CNAME), and the group's weight. A weighted record has
// one group per healthy pool, and each query gets one group, chosen by
// weight; every other record has a single group.
type AnswerGroup struct {
	Weight  uint32   `json:"weight"`
	Answers []string `json:"answers"`
}

// Decision is the answer chosen for one record and why.
type Decision struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Pool is the pool answering (for weighted and all-healthy, the
	// pools, comma separated); empty for a fallback or no answer.
	Pool string `json:"pool"`
	// Answers are the addresses or target served; a weighted record
	// serves one pool's endpoints per query.
	Answers []string `json:"answers"`
	Reason  string   `json:"reason"`
	// Fallback is true when no pool was healthy.
	Fallback bool `json:"fallback,omitempty"`

	// TTL is the record's TTL, for whoever builds its records.
	TTL uint32 `json:"-"`
	// Groups are what is served: none answers no data.
	Groups []AnswerGroup `json:"-"`

	// GeoPolicy is geo or nearest for a record answered by where the
	// client is, and Geo its answers per rule or pool; Answers and
	// Groups above are then those of clients the database does not
	// place. Empty for every other record, and for a pinned one.
	GeoPolicy string      `json:"geo_policy,omitempty"`
	Geo       []GeoAnswer `json:"geo,omitempty"`
}

// SameAnswer reports whether d and o answer alike: the same pool, the
// same addresses, both on the fallback or neither.
func (d Decision) SameAnswer(o Decision) bool {
	return d.Pool == o.Pool && d.Fallback == o.Fallback && slices.Equal(d.Answers, o.Answers) && sameGeo(d.Geo, o.Geo)
}

// SameRecords reports whether d and o serve the same records: the same
// TTL and the same groups with the same weights, in the same order.
func (d Decision) SameRecords(o Decision) bool {
	return d.TTL == o.TTL && sameGroups(d.Groups, o.Groups) && slices.EqualFunc(d.Geo, o.Geo, func(a, b GeoAnswer) bool {
		return a.Pass == b.Pass && sameGroups(a.Groups, b.Groups)
	})
}

func sameGroups(a, b []AnswerGroup) bool {
	return slices.EqualFunc(a, b, func(a, b AnswerGroup) bool {
		return a.Weight == b.Weight && slices.Equal(a.Answers, b.Answers)
	})
}

// Phrase says an answer in one phrase, as the event log and the API's
// refusals write it: "192.0.2.10, 192.0.2.11 (pool web-us-east)", "192.0.2.99
// (fallback)", "no data".
func Phrase(answers []string, pool string, fallback bool) string {
	a := strings.Join(answers, ", ")
	if a == "" {
		a = "no data"
	}
	switch {
	case fallback:
		return a + " (fallback)"
	case pool != "":
		return a + " (pool " + pool + ")"
	}
	return a
}

// Phrase says d's answer in one phrase (see the function Phrase).
func (d Decision) Phrase() string { return Phrase(d.Answers, d.Pool, d.Fallback) }

// Single is one group of weight 1 answering addrs.
func Single(addrs []string) []AnswerGroup {
	return []AnswerGroup{{Weight: 1, Answers: addrs}}
}

// PoolState is a pool's health as the policy sees it.
type PoolState struct {
	Pool    *spec.Pool
	Up      []string // healthy endpoint addresses
	Unknown int      // of Up, how many have no health data yet
	Down    []string // "addr (reason)"
	Healthy bool     // at least min_healthy endpoints up
}

// EvaluatePool judges pool p under h.
func EvaluatePool(p *spec.Pool, h Health) PoolState {
	st := PoolState{Pool: p}
	for _, ep := range p.Endpoints {
		e := h.Endpoint(p.Name, ep.Address)
		if !e.Known || e.Up {
			st.Up = append(st.Up, ep.Address)
			if !e.Known {
				st.Unknown++
			}
			continue
		}
		d := ep.Address
		if e.Reason != "" {
			d += " (" + e.Reason + ")"
		}
		st.Down = append(st.Down, d)
	}
	st.Healthy = len(st.Up) >= p.MinHealthy
	return st
}

// Summary says how many endpoints of the pool are up and which are down.
func (st PoolState) Summary() string {
	s := fmt.Sprintf("%s %d/%d up", st.Pool.Name, len(st.Up), len(st.Pool.Endpoints))
	if st.Pool.MinHealthy > 1 {
		s += fmt.Sprintf(", needs %d", st.Pool.MinHealthy)
	}
	if len(st.Down) > 0 {
		s += ": down " + strings.Join(st.Down, ", ")
	}
	return s
}

// Evaluate decides the answer of every health-driven record of s.
func Evaluate(s *spec.Spec, h Health) []Decision { return EvaluatePinned(s, h, nil) }

// EvaluatePinned is Evaluate with pins: a record pinned to a pool (key
// "name/type") answers from that pool whatever the health says. A pin to
// a pool the spec does not have is ignored.
func EvaluatePinned(s *spec.Spec, h Health, pins map[string]Pin) []Decision {
	pools := Pools(s)
	out := make([]Decision, 0, len(s.Records))
	for i := range s.Records {
		out = append(out, EvaluateRecord(s, &s.Records[i], pools, h, pins))
	}
	return out
}

// pinned answers r from pool p: its healthy endpoints, or all of them when
// none is healthy (the operator asked for this pool).
func pinned(r *spec.Record, p *spec.Pool, h Health, pin Pin) Decision {
	st := EvaluatePool(p, h)
	d := Decision{Name: r.Name, Type: r.Type, Pool: p.Name, TTL: r.TTL}
	d.Reason = fmt.Sprintf("pinned to pool %s by %s: %s", p.Name, orUnknown(pin.Author), pin.Reason)
	addrs := st.Up
	if len(addrs) == 0 {
		addrs = endpointAddrs(p)
		d.Reason += "; no endpoint of the pool is up, answering all of them"
	}
	d.Answers = AnswerAddrs(r, addrs)
	d.Groups = Single(d.Answers)
	return d
}

func decide(r *spec.Record, pools map[string]*spec.Pool, h Health) Decision {
	d := Decision{Name: r.Name, Type: r.Type, TTL: r.TTL}
	states := make([]PoolState, 0, len(r.Pools))
	for _, ref := range r.Pools {
		states = append(states, EvaluatePool(pools[ref.Pool], h))
	}
	var unhealthy []string
	for _, st := range states {
		if !st.Healthy {
			unhealthy = append(unhealthy, st.Summary())
		}
	}
	if chosen := choose(r, states, &d); chosen {
		if len(unhealthy) > 0 {
			d.Reason += "; unhealthy: " + strings.Join(unhealthy, "; ")
		}
		return d
	}
	// Nothing healthy.
	d.Fallback = true
	why := "no healthy pool (" + strings.Join(unhealthy, "; ") + ")"
	switch r.OnAllDown {
	case spec.AllDownFallback:
		d.Answers = append([]string(nil), r.Fallback...)
		d.Reason = why + ": answering the fallback"
		d.Groups = Single(d.Answers)
	case spec.AllDownNoData:
		d.Reason = why + ": answering no data (on_all_down: nodata)"
	default:
		// Fail open: answer as if every endpoint were up.
		for i := range states {
			states[i].Up = endpointAddrs(states[i].Pool)
			states[i].Healthy = true
		}
		choose(r, states, &d)
		d.Reason = why + ": failing open, answering as if all were up (on_all_down: all)"
	}
	return d
}

// choose applies the record's policy to healthy pools, filling d. It
// reports false when no pool is healthy.
func choose(r *spec.Record, states []PoolState, d *Decision) bool {
	switch r.Policy {
	case spec.PolicyWeighted:
		return chooseWeighted(r, states, d)
	case spec.PolicyAllHealthy:
		var names []string
		for _, st := range states {
			if st.Healthy {
				names = append(names, st.Pool.Name)
				d.Answers = append(d.Answers, st.Up...)
			}
		}
		if len(names) == 0 {
			return false
		}
		d.Pool = strings.Join(names, ",")
		d.Reason = "every healthy endpoint of " + strings.Join(names, ", ")
		d.Groups = Single(d.Answers)
		return true
	default: // failover
		for i, st := range states {
			if !st.Healthy {
				continue
			}
			d.Pool = st.Pool.Name
			d.Answers = AnswerAddrs(r, st.Up)
			if i == 0 {
				d.Reason = fmt.Sprintf("first pool %s is healthy (%d/%d up)", st.Pool.Name, len(st.Up), len(st.Pool.Endpoints))
				if st.Unknown > 0 {
					d.Reason = fmt.Sprintf("first pool %s: %d/%d endpoints not checked yet, counted as up", st.Pool.Name, st.Unknown, len(st.Pool.Endpoints))
				}
			} else {
				d.Reason = fmt.Sprintf("pool %s: earlier pools unhealthy", st.Pool.Name)
			}
			d.Groups = Single(d.Answers)
			return true
		}
		return false
	}
}

// chooseWeighted is choose for the weighted policy: one group per
// healthy pool of positive weight.
func chooseWeighted(r *spec.Record, states []PoolState, d *Decision) bool {
	var names, pools []string
	for i, st := range states {
		w := r.Pools[i].Weight
		if !st.Healthy || w <= 0 {
			continue
		}
		addrs := AnswerAddrs(r, st.Up)
		pools = append(pools, st.Pool.Name)
		names = append(names, fmt.Sprintf("%s (weight %d)", st.Pool.Name, w))
		d.Answers = append(d.Answers, addrs...)
		d.Groups = append(d.Groups, AnswerGroup{Weight: uint32(w), Answers: addrs})
	}
	if len(names) == 0 {
		return false
	}
	d.Pool = strings.Join(pools, ",")
	d.Reason = "weighted over healthy pools: " + strings.Join(names, ", ")
	return true
}

// AnswerAddrs limits a CNAME record to one target.
func AnswerAddrs(r *spec.Record, addrs []string) []string {
	if r.Type == "CNAME" && len(addrs) > 1 {
		return addrs[:1]
	}
	return addrs
}

func endpointAddrs(p *spec.Pool) []string {
	out := make([]string, len(p.Endpoints))
	for i, ep := range p.Endpoints {
		out[i] = ep.Address
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
