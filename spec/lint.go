package spec

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// MaxDynamicTTL is the TTL above which a health-driven record is linted:
// resolvers keep a dead answer that long after a failover.
const MaxDynamicTTL = 300

// Lint reports what is valid but likely a mistake, from outages others
// have lived through. It expects a validated spec.
func (s *Spec) Lint() []Problem { return s.LintAllowing(nil) }

// LintAllowing is Lint for a node whose check_allow_networks are allowed:
// it leaves out the warnings about probe addresses that node may reach.
func (s *Spec) LintAllowing(allowed []netip.Prefix) []Problem {
	var out []Problem
	add := func(path, format string, args ...any) {
		out = append(out, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if n := len(s.Datacenters); n < 3 {
		add("datacenters", "%d datacenter(s): with fewer than three, losing one leaves the controllers without a majority elsewhere, or traffic with nowhere to go", n)
	}
	pools := map[string]*Pool{}
	for i := range s.Pools {
		pools[s.Pools[i].Name] = &s.Pools[i]
	}
	for i, c := range s.Checks {
		if c.Timeout.D() > c.Interval.D()*4/5 {
			add(fmt.Sprintf("checks[%d].timeout", i), "%s is not well below the interval %s: a slow target delays every next probe; keep the timeout at most 80%% of the interval", c.Timeout, c.Interval)
		}
	}
	for i, r := range s.Records {
		path := fmt.Sprintf("records[%d]", i)
		if r.TTL > MaxDynamicTTL {
			add(path+".ttl", "%d s: resolvers keep a dead answer up to that long after a failover; keep health-driven TTLs at %d s or below", r.TTL, MaxDynamicTTL)
		}
		if r.Policy != PolicyFailover || len(r.Pools) == 0 {
			continue
		}
		dcs := map[string]bool{}
		for _, ref := range r.Pools {
			if p := pools[ref.Pool]; p != nil {
				dcs[p.Datacenter] = true
			}
		}
		if len(dcs) == 1 {
			var names []string
			for dc := range dcs {
				names = append(names, dc)
			}
			sort.Strings(names)
			add(path+".pools", "every pool of %s sits in datacenter %s: losing that datacenter leaves the record nowhere to fail over to", r.Name, strings.Join(names, ""))
		}
	}
	out = append(out, s.lintProviderTTLs()...)
	out = append(out, s.lintCheckTargets(allowed)...)
	out = append(out, s.lintNotifyTargets()...)
	out = append(out, s.lintProbeLoad()...)
	out = append(out, s.lintEnvNames()...)
	out = append(out, s.lintZoneTTLs()...)
	out = append(out, s.lintGeo()...)
	return out
}

// lintZoneTTLs reports RRsets whose records gave different TTLs: they are
// served with the last one, as Knot DNS serves them (RFC 2181 5.2).
func (s *Spec) lintZoneTTLs() []Problem {
	var out []Problem
	for i, z := range s.Zones {
		cz := s.compiled[z.Name]
		if cz == nil {
			continue
		}
		for _, m := range cz.ttlMerged {
			out = append(out, Problem{Path: fmt.Sprintf("zones[%d].static", i), Message: m + ": the records of an RRset share one TTL (RFC 2181 5.2); all are served with the last"})
		}
	}
	return out
}
