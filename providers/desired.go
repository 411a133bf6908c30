package providers

import (
	"slices"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/spec"
)

// Source is where desired state comes from: the replicated spec and the
// cluster's decisions. *controller.FSM satisfies it.
type Source interface {
	Spec() (*spec.Spec, uint64)
	Decisions() []controller.Decision
	// Changed returns a channel closed at the next change.
	Changed() <-chan struct{}
}

// Desired returns the RRsets provider p should hold, and the keys of
// every health-driven record of its zone (those answering nothing
// included, so that a provider owning by name reads and removes them).
//
// A record belongs to p when its zone (the longest zone of the spec
// holding its name) is p's zone. A weighted record answers one pool per
// query at detour's own servers; a provider cannot weight, so it holds
// every answer of the decision.
func Desired(s *spec.Spec, decisions []controller.Decision, p spec.Provider) (want []RRset, keys []Key) {
	if s == nil {
		return nil, nil
	}
	// Validation grouped the health-driven records by zone already.
	cz := s.ZoneFor(p.Zone)
	if cz == nil || dns.CanonicalName(cz.Name) != dns.CanonicalName(p.Zone) {
		return nil, nil
	}
	records := make(map[Key]*spec.Record, len(cz.Dynamic))
	for _, r := range cz.Dynamic {
		records[Key{dns.CanonicalName(r.Name), r.Type}] = r
	}
	for _, d := range decisions {
		k := Key{dns.CanonicalName(d.Name), d.Type}
		r := records[k]
		if r == nil {
			continue
		}
		keys = append(keys, k)
		if len(d.Answers) == 0 {
			continue
		}
		vals := make([]string, len(d.Answers))
		for i, a := range d.Answers {
			if d.Type == "CNAME" {
				a = dns.CanonicalName(a)
			}
			vals[i] = a
		}
		slices.Sort(vals)
		want = append(want, RRset{Key: k, TTL: r.TTL, Values: slices.Compact(vals), Proxied: r.Proxied})
	}
	return want, keys
}
