package machine

import (
	"maps"
	"slices"
)

// NeverSeenUp marks the event of an endpoint that went down on its
// observers' first verdicts: none of them has ever seen it up since it
// was added, as at a cold start whose first probes ran before the sites
// listened, or for a new endpoint whose site is not serving yet. The
// automatic incident does not count such a move as an outage.
const NeverSeenUp = "(never seen up)"

// neverUp returns " "+NeverSeenUp when every fresh observer with a
// verdict on endpoint k holds its first verdict and none says up, else "".
func (st *State) neverUp(k string) string {
	seen := false
	for _, id := range slices.Sorted(maps.Keys(st.Observers)) {
		o := st.Observers[id]
		v := o.Verdicts[k]
		if !o.Fresh || v == nil {
			continue
		}
		if v.Up || !v.First {
			return ""
		}
		seen = true
	}
	if !seen {
		return ""
	}
	return " " + NeverSeenUp
}
