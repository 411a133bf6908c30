package controller

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/dnsserver"
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

	variants []dnsserver.Variant
}

// SameAnswer reports whether d and o answer alike: the same pool, the
// same addresses, both on the fallback or neither.
func (d Decision) SameAnswer(o Decision) bool {
	return d.Pool == o.Pool && d.Fallback == o.Fallback && slices.Equal(d.Answers, o.Answers)
}

// poolState is a pool's health as the policy sees it.
type poolState struct {
	pool    *spec.Pool
	up      []string // healthy endpoint addresses
	unknown int      // of up, how many have no health data yet
	down    []string // "addr (reason)"
	healthy bool
}

func evaluatePool(p *spec.Pool, h Health) poolState {
	st := poolState{pool: p}
	for _, ep := range p.Endpoints {
		e := h.Endpoint(p.Name, ep.Address)
		if !e.Known || e.Up {
			st.up = append(st.up, ep.Address)
			if !e.Known {
				st.unknown++
			}
			continue
		}
		d := ep.Address
		if e.Reason != "" {
			d += " (" + e.Reason + ")"
		}
		st.down = append(st.down, d)
	}
	st.healthy = len(st.up) >= p.MinHealthy
	return st
}

func (st poolState) summary() string {
	s := fmt.Sprintf("%s %d/%d up", st.pool.Name, len(st.up), len(st.pool.Endpoints))
	if st.pool.MinHealthy > 1 {
		s += fmt.Sprintf(", needs %d", st.pool.MinHealthy)
	}
	if len(st.down) > 0 {
		s += ": down " + strings.Join(st.down, ", ")
	}
	return s
}

// Evaluate decides the answer of every health-driven record of s.
func Evaluate(s *spec.Spec, h Health) []Decision { return EvaluatePinned(s, h, nil) }

// EvaluatePinned is Evaluate with pins: a record pinned to a pool (key
// "name/type") answers from that pool whatever the health says.
func EvaluatePinned(s *spec.Spec, h Health, pins map[string]*Override) []Decision {
	pools := map[string]*spec.Pool{}
	for i := range s.Pools {
		pools[s.Pools[i].Name] = &s.Pools[i]
	}
	out := make([]Decision, 0, len(s.Records))
	for i := range s.Records {
		r := &s.Records[i]
		if pin := pins[r.Name+"/"+r.Type]; pin != nil && pools[pin.Pool] != nil {
			out = append(out, pinned(r, pools[pin.Pool], h, pin))
			continue
		}
		out = append(out, decide(r, pools, h))
	}
	return out
}

// pinned answers r from pool p: its healthy endpoints, or all of them when
// none is healthy (the operator asked for this pool).
func pinned(r *spec.Record, p *spec.Pool, h Health, pin *Override) Decision {
	st := evaluatePool(p, h)
	d := Decision{Name: r.Name, Type: r.Type, Pool: p.Name}
	d.Reason = fmt.Sprintf("pinned to pool %s by %s: %s", p.Name, orUnknown(pin.Author), pin.Reason)
	addrs := st.up
	if len(addrs) == 0 {
		addrs = endpointAddrs(p)
		d.Reason += "; no endpoint of the pool is up, answering all of them"
	}
	d.Answers = answerAddrs(r, addrs)
	d.variants = []dnsserver.Variant{{Weight: 1, RRs: records(r, d.Answers)}}
	return d
}

func decide(r *spec.Record, pools map[string]*spec.Pool, h Health) Decision {
	d := Decision{Name: r.Name, Type: r.Type}
	states := make([]poolState, 0, len(r.Pools))
	for _, ref := range r.Pools {
		states = append(states, evaluatePool(pools[ref.Pool], h))
	}
	var unhealthy []string
	for _, st := range states {
		if !st.healthy {
			unhealthy = append(unhealthy, st.summary())
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
		d.variants = []dnsserver.Variant{{Weight: 1, RRs: records(r, r.Fallback)}}
	case spec.AllDownNoData:
		d.Reason = why + ": answering no data (on_all_down: nodata)"
	default:
		// Fail open: answer as if every endpoint were up.
		for i := range states {
			states[i].up = endpointAddrs(states[i].pool)
			states[i].healthy = true
		}
		choose(r, states, &d)
		d.Reason = why + ": failing open, answering as if all were up (on_all_down: all)"
	}
	return d
}

// choose applies the record's policy to healthy pools, filling d. It
// reports false when no pool is healthy.
func choose(r *spec.Record, states []poolState, d *Decision) bool {
	switch r.Policy {
	case spec.PolicyWeighted:
		var names, pools []string
		for i, st := range states {
			w := r.Pools[i].Weight
			if !st.healthy || w <= 0 {
				continue
			}
			addrs := answerAddrs(r, st.up)
			pools = append(pools, st.pool.Name)
			names = append(names, fmt.Sprintf("%s (weight %d)", st.pool.Name, w))
			d.Answers = append(d.Answers, addrs...)
			d.variants = append(d.variants, dnsserver.Variant{Weight: uint32(w), RRs: records(r, addrs)})
		}
		if len(names) == 0 {
			return false
		}
		d.Pool = strings.Join(pools, ",")
		d.Reason = "weighted over healthy pools: " + strings.Join(names, ", ")
		return true
	case spec.PolicyAllHealthy:
		var names []string
		for _, st := range states {
			if st.healthy {
				names = append(names, st.pool.Name)
				d.Answers = append(d.Answers, st.up...)
			}
		}
		if len(names) == 0 {
			return false
		}
		d.Pool = strings.Join(names, ",")
		d.Reason = "every healthy endpoint of " + strings.Join(names, ", ")
		d.variants = []dnsserver.Variant{{Weight: 1, RRs: records(r, d.Answers)}}
		return true
	default: // failover
		for i, st := range states {
			if !st.healthy {
				continue
			}
			d.Pool = st.pool.Name
			d.Answers = answerAddrs(r, st.up)
			if i == 0 {
				d.Reason = fmt.Sprintf("first pool %s is healthy (%d/%d up)", st.pool.Name, len(st.up), len(st.pool.Endpoints))
				if st.unknown > 0 {
					d.Reason = fmt.Sprintf("first pool %s: %d/%d endpoints not checked yet, counted as up", st.pool.Name, st.unknown, len(st.pool.Endpoints))
				}
			} else {
				d.Reason = fmt.Sprintf("pool %s: earlier pools unhealthy", st.pool.Name)
			}
			d.variants = []dnsserver.Variant{{Weight: 1, RRs: records(r, d.Answers)}}
			return true
		}
		return false
	}
}

// answerAddrs limits a CNAME record to one target.
func answerAddrs(r *spec.Record, addrs []string) []string {
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

// records builds the DNS records of r answering addrs.
func records(r *spec.Record, addrs []string) []dns.RR {
	out := make([]dns.RR, 0, len(addrs))
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: r.Name, Rrtype: t, Class: dns.ClassINET, Ttl: r.TTL}
	}
	for _, a := range addrs {
		switch r.Type {
		case "A", "AAAA":
			ip, err := netip.ParseAddr(a)
			if err != nil {
				continue // validated earlier; never here
			}
			if r.Type == "A" {
				out = append(out, &dns.A{Hdr: hdr(dns.TypeA), A: ip.AsSlice()})
			} else {
				out = append(out, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: ip.AsSlice()})
			}
		case "CNAME":
			out = append(out, &dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: dns.Fqdn(a)})
		}
	}
	return out
}

// DynamicAnswers turns decisions into the DNS server's dynamic answers.
func DynamicAnswers(ds []Decision) []dnsserver.DynamicAnswer {
	out := make([]dnsserver.DynamicAnswer, 0, len(ds))
	for _, d := range ds {
		out = append(out, dnsserver.DynamicAnswer{Name: d.Name, Type: dns.StringToType[d.Type], Variants: d.variants})
	}
	return out
}
