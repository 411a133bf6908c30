package providers

import (
	"cmp"
	"slices"
)

// Diff returns the changes that turn current into desired: creates for
// RRsets only desired, updates where the data differ, deletes for RRsets
// only current. Both sides are RRsets detour owns; the result is sorted by
// name and type, so plans read the same every time.
func Diff(desired, current []RRset) []Change {
	have := make(map[Key]*RRset, len(current))
	for i := range current {
		have[current[i].Key] = &current[i]
	}
	var out []Change
	seen := make(map[Key]bool, len(desired))
	for i := range desired {
		d := &desired[i]
		seen[d.Key] = true
		c := have[d.Key]
		switch {
		case c == nil:
			out = append(out, Change{New: d})
		case !d.Equal(*c):
			out = append(out, Change{Old: c, New: d})
		}
	}
	for i := range current {
		if !seen[current[i].Key] {
			out = append(out, Change{Old: &current[i]})
		}
	}
	slices.SortFunc(out, func(a, b Change) int {
		ka, kb := a.Key(), b.Key()
		return cmp.Or(cmp.Compare(ka.Name, kb.Name), cmp.Compare(ka.Type, kb.Type))
	})
	return out
}
