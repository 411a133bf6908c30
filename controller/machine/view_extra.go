package machine

import (
	"maps"
	"time"
)

// The small replicated parts beside the View's main ones: fail-back
// holds, the cluster's identity and membership records. They are copied
// into every view (each holds a handful of entries), so no command can
// leave them stale there.
type viewExtra struct {
	holds     map[string]*FailbackHold
	clusterID string
	joining   map[string]*Joining
	leaderID  string
	nonVoters map[string]bool
}

// extraOf copies st's small parts for a view.
func extraOf(st *State) viewExtra {
	return viewExtra{
		holds: copyValues(st.Holds), clusterID: st.ClusterID,
		joining: copyValues(st.Joining), leaderID: st.LeaderID, nonVoters: maps.Clone(st.NonVoters),
	}
}

// Held returns a copy of the fail-back hold on record name/typ, or nil
// (see State.Held).
func (v *View) Held(name, typ string) *FailbackHold {
	if h := v.extra.holds[holdKey(name, typ)]; h != nil {
		c := *h
		return &c
	}
	return nil
}

// HoldsDue reports whether a fail-back hold has run out at now.
func (v *View) HoldsDue(now time.Time) bool {
	for _, h := range v.extra.holds {
		if !h.Until.IsZero() && !h.Until.After(now) {
			return true
		}
	}
	return false
}

// ClusterID is the cluster's identity as the log has it, "" until the
// first leader committed one.
func (v *View) ClusterID() string { return v.extra.clusterID }

// LeaderID is the leader last announced in the log (membership.go).
func (v *View) LeaderID() string { return v.extra.leaderID }

// NonVoter reports whether member id was added as a non-voter.
func (v *View) NonVoter(id string) bool { return v.extra.nonVoters[id] }

// Joining returns a copy of the members waiting to become voters.
func (v *View) Joining() map[string]Joining {
	out := make(map[string]Joining, len(v.extra.joining))
	for id, j := range v.extra.joining {
		out[id] = *j
	}
	return out
}

// Pins returns the pins in force by "name/type", in a map of the
// caller's own (the overrides it points to are the view's: read them
// only).
func (v *View) Pins() map[string]*Override { return pinsOf(v.overrides) }

// ExpiryDue reports whether an override or a fail-back hold has run out
// at now: the leader's sweep then commits expire_overrides.
func (v *View) ExpiryDue(now time.Time) bool {
	for _, o := range v.overrides {
		if !o.Expires.IsZero() && !o.Expires.After(now) {
			return true
		}
	}
	return v.HoldsDue(now) // fail-back holds end by the same sweep
}
