package machine

import "maps"

// LastVerdict is the last verdict the cluster's observers reached on an
// endpoint. It is replicated (State.LastKnown), so that every replica,
// and one restored from a snapshot, keeps the same verdict while no
// fresh observer judges the endpoint.
type LastVerdict struct {
	Up     bool   `json:"up"`
	Reason string `json:"reason,omitempty"`
}

// remembered is the consensus, with the last verdict standing in for an
// endpoint no fresh observer has a verdict on: observers going stale (a
// partition, a leader's pause) must not turn a dead endpoint back up.
// Only an endpoint that never had a verdict is unknown, and counts as up.
type remembered struct {
	inner Health
	last  map[string]LastVerdict
	// reached collects the verdicts the observers reached this time.
	reached map[string]LastVerdict
}

// Endpoint implements Health.
func (r *remembered) Endpoint(pool, addr string) EndpointHealth {
	h := r.inner.Endpoint(pool, addr)
	k := targetKey(pool, addr)
	if h.Known {
		r.reached[k] = LastVerdict{Up: h.Up, Reason: h.Reason}
		return h
	}
	v, ok := r.last[k]
	if !ok {
		return h
	}
	reason := "no fresh observer has a verdict: keeping the last one, up"
	if !v.Up {
		reason = "no fresh observer has a verdict: keeping the last one, down"
	}
	if v.Reason != "" {
		reason += " (" + v.Reason + ")"
	}
	return EndpointHealth{Known: true, Up: v.Up, Reason: reason}
}

// rememberVerdicts returns c with the last verdicts standing in for unknown
// endpoints.
func (st *State) rememberVerdicts(c Health) *remembered {
	return &remembered{inner: c, last: st.LastKnown, reached: map[string]LastVerdict{}}
}

// keep records the verdicts r's observers reached on the endpoints in
// health (those of the spec), keeping the last one of the others.
func (st *State) keep(r *remembered, health map[string]EndpointHealth) {
	next := make(map[string]LastVerdict, len(health))
	for k := range health {
		if v, ok := r.reached[k]; ok {
			next[k] = v
		} else if v, ok := r.last[k]; ok {
			next[k] = v
		}
	}
	if len(next) == 0 {
		next = nil
	}
	if !maps.Equal(next, st.LastKnown) {
		st.LastKnown = next
	}
}
