package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/seed3787e6f1/detour/spec"
)

// specChanges names what differs between two specs, by kind and name.
func specChanges(old, next *spec.Spec) []string {
	if old == nil {
		old = &spec.Spec{}
	}
	out := []string{}
	compare := func(kind string, a, b map[string]any) {
		for _, n := range slices.Sorted(maps.Keys(b)) {
			switch prev, ok := a[n]; {
			case !ok:
				out = append(out, fmt.Sprintf("+ %s %s", kind, n))
			case !sameItem(prev, b[n]):
				out = append(out, fmt.Sprintf("~ %s %s", kind, n))
			}
		}
		for _, n := range slices.Sorted(maps.Keys(a)) {
			if _, ok := b[n]; !ok {
				out = append(out, fmt.Sprintf("- %s %s", kind, n))
			}
		}
	}
	index := func(s *spec.Spec) (zones, dcs, checks, pools, records, providers map[string]any) {
		zones, dcs, checks, pools, records, providers = map[string]any{}, map[string]any{}, map[string]any{}, map[string]any{}, map[string]any{}, map[string]any{}
		for _, z := range s.Zones {
			zones[z.Name] = z
		}
		for _, d := range s.Datacenters {
			dcs[d.Name] = d
		}
		for _, c := range s.Checks {
			checks[c.Name] = c
		}
		for _, p := range s.Pools {
			pools[p.Name] = p
		}
		for _, r := range s.Records {
			records[r.Name+" "+r.Type] = r
		}
		for _, p := range s.Providers {
			providers[p.Name] = p
		}
		return
	}
	az, ad, ac, ap, ar, apr := index(old)
	bz, bd, bc, bp, br, bpr := index(next)
	compare("zone", az, bz)
	compare("datacenter", ad, bd)
	compare("check", ac, bc)
	compare("pool", ap, bp)
	compare("record", ar, br)
	compare("provider", apr, bpr)
	return out
}

// sameItem reports whether two items of a spec say the same: their JSON
// (as the canonical form writes them) is equal. reflect.DeepEqual tells
// a nil list or map from an empty one, which a spec read from its
// canonical JSON (the seed) and the same spec read from YAML differ by.
func sameItem(a, b any) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	if errA != nil || errB != nil {
		return reflect.DeepEqual(a, b)
	}
	return bytes.Equal(x, y)
}

// maxDiffLines bounds the line diff's quadratic table; larger specs get
// the summary of changes only.
const maxDiffLines = 4000

// lineDiff is a minimal unified-style line diff ("-", "+", " " prefixes,
// unchanged runs longer than six lines elided).
func lineDiff(a, b string) string {
	if a == b {
		return ""
	}
	x, y := splitLines(a), splitLines(b)
	if len(x) > maxDiffLines || len(y) > maxDiffLines {
		return fmt.Sprintf("(the specs have %d and %d lines: too long for a line diff; see the changes above)\n", len(x), len(y))
	}
	// lcs[i][j] is the length of the longest common subsequence of
	// x[i:] and y[j:].
	lcs := make([][]int32, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte
		text string
	}
	var lines []line
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			lines = append(lines, line{' ', x[i]})
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			// removed lines before added ones, as diff -u prints them
			lines = append(lines, line{'-', x[i]})
			i++
		default:
			lines = append(lines, line{'+', y[j]})
			j++
		}
	}
	var sb strings.Builder
	const ctx = 3
	for k := 0; k < len(lines); k++ {
		if lines[k].op != ' ' {
			fmt.Fprintf(&sb, "%c %s\n", lines[k].op, lines[k].text)
			continue
		}
		// a run of unchanged lines: keep ctx at each edge
		end := k
		for end < len(lines) && lines[end].op == ' ' {
			end++
		}
		head, tail := k+ctx, end-ctx
		if k == 0 {
			head = k
		}
		if end == len(lines) {
			tail = end
		}
		if tail-head <= 2 {
			for ; k < end; k++ {
				fmt.Fprintf(&sb, "  %s\n", lines[k].text)
			}
		} else {
			for ; k < head; k++ {
				fmt.Fprintf(&sb, "  %s\n", lines[k].text)
			}
			fmt.Fprintf(&sb, "@@ %d unchanged line(s) @@\n", tail-head)
			for k = tail; k < end; k++ {
				fmt.Fprintf(&sb, "  %s\n", lines[k].text)
			}
		}
		k = end - 1
	}
	return sb.String()
}

func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
