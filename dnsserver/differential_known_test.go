package dnsserver_test

import (
	"slices"

	"github.com/miekg/dns"
)

// knownDiff is a difference between Knot DNS and detour that an RFC
// permits and detour keeps on purpose. applies edits both replies so that
// the difference no longer shows, and reports whether it did anything.
type knownDiff struct {
	name    string
	rfc     string
	applies func(s shape, knot, detour *reply) bool
}

// diffKnown lists every permitted difference; docs/dns-server.md lists
// the same. Keep it short: an entry hides a whole class of differences.
var diffKnown = []knownDiff{
	{
		name: "detour sends each additional record once; Knot repeats one that two targets share",
		rfc:  "RFC 2181 5.5",
		applies: func(_ shape, knot, detour *reply) bool {
			k, d := dedupExtra(knot), dedupExtra(detour)
			return k || d
		},
	},
}

// dedupExtra removes repeated records from r's additional section.
func dedupExtra(r *reply) bool {
	if r.msg == nil {
		return false
	}
	var seen []string
	var keep []dns.RR
	for _, rr := range r.msg.Extra {
		s := rrString(rr)
		if slices.Contains(seen, s) {
			continue
		}
		seen = append(seen, s)
		keep = append(keep, rr)
	}
	changed := len(keep) != len(r.msg.Extra)
	r.msg.Extra = keep
	return changed
}
