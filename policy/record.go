package policy

import "github.com/seed3787e6f1/detour/spec"

// Pools maps the names of s's pools to them, for EvaluateRecord.
func Pools(s *spec.Spec) map[string]*spec.Pool {
	pools := make(map[string]*spec.Pool, len(s.Pools))
	for i := range s.Pools {
		pools[s.Pools[i].Name] = &s.Pools[i]
	}
	return pools
}

// EvaluateRecord decides one record r of s under h, as EvaluatePinned
// decides each: pools is Pools(s), pins by "name/type". Deciding the
// records whose pools' health changed, and keeping the other decisions,
// is deciding them all.
func EvaluateRecord(s *spec.Spec, r *spec.Record, pools map[string]*spec.Pool, h Health, pins map[string]Pin) Decision {
	if pin, ok := pins[r.Name+"/"+r.Type]; ok && pools[pin.Pool] != nil {
		return pinned(r, pools[pin.Pool], h, pin)
	}
	if r.IsGeo() {
		return decideGeo(s, r, pools, h)
	}
	return decide(r, pools, h)
}

// RecordPools lists the pools whose health r's decision reads: its own
// and those of its geo rules, each once (a pin's pool is one of the
// record's, which the state checks when it takes the pin).
func RecordPools(r *spec.Record) []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, ref := range r.Pools {
		add(ref.Pool)
	}
	for _, g := range r.Geo {
		for _, p := range g.Pools {
			add(p)
		}
	}
	return out
}
