package chaos

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Report renders trial results as docs/reliability.md's table: per fault,
// the trials it was in, the violations during it, the failover time of the
// faults that killed a serving site and the time from its heal to every
// node ready and right; then the violations with their seeds.
func Report(results []TrialResult, firstSeed uint64, commit string, date time.Time) string {
	type row struct {
		trials     map[uint64]bool
		violations int
		failover   []time.Duration
		never      int
		recovered  []time.Duration
		unrec      int
	}
	rows := map[string]*row{}
	get := func(k string) *row {
		if rows[k] == nil {
			rows[k] = &row{trials: map[uint64]bool{}}
		}
		return rows[k]
	}
	var converge []time.Duration
	unconverged, violations, clean := 0, 0, 0
	for _, r := range results {
		get(wholeTrial).trials[r.Seed] = true
		for i, f := range r.Faults {
			rw := get(f.Kind)
			rw.trials[r.Seed] = true
			if i < len(r.Recovered) {
				if r.Recovered[i] < 0 {
					rw.unrec++
				} else {
					rw.recovered = append(rw.recovered, r.Recovered[i])
				}
			}
		}
		for _, fo := range r.Failovers {
			rw := get(fo.Kind)
			if fo.Never {
				rw.never++
			} else {
				rw.failover = append(rw.failover, fo.Took)
			}
		}
		for _, v := range r.Violations {
			if v.Fault == "" {
				v.Fault = wholeTrial
			}
			get(v.Fault).violations++
		}
		violations += len(r.Violations)
		if len(r.Violations) == 0 {
			clean++
		}
		if r.Converge < 0 {
			unconverged++
		} else {
			converge = append(converge, r.Converge)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d trials, seeds %d-%d, commit %s, %s: %d of %d without a violation (%d violations).\n",
		len(results), firstSeed, firstSeed+uint64(max(len(results), 1))-1, commit, date.UTC().Format("2006-01-02"), clean, len(results), violations)
	fmt.Fprintf(&b, "Bound of invariants 1 and 2: %s (interval %s x fall %d + election %s + 1 s).\n", Bound, checkInterval, checkFall, election)
	fmt.Fprintf(&b, "Applied index, events and serials converged after the final heal: p50 %s, p99 %s (%d never).\n\n",
		pct(converge, 50), pct(converge, 99), unconverged)
	b.WriteString("| fault | trials | violations | failover p50 | failover p99 | ready and right after heal p50 | p99 |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	kinds := slices.Sorted(func(yield func(string) bool) {
		for k := range rows {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range kinds {
		rw := rows[k]
		fo1, fo2 := "-", "-"
		if len(rw.failover) > 0 {
			fo1, fo2 = pct(rw.failover, 50), pct(rw.failover, 99)
		}
		if rw.never > 0 {
			fo2 += fmt.Sprintf(" (%d never)", rw.never)
		}
		rc2 := pct(rw.recovered, 99)
		if rw.unrec > 0 {
			rc2 += fmt.Sprintf(" (%d never)", rw.unrec)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %s | %s | %s |\n", k, len(rw.trials), rw.violations, fo1, fo2, pct(rw.recovered, 50), rc2)
	}
	var list []string
	for _, r := range results {
		for _, v := range r.Violations {
			line, _, _ := strings.Cut(v.String(), "\n") // a history's operations stay in the log
			list = append(list, fmt.Sprintf("- seed %d: %s", r.Seed, line))
		}
	}
	if len(list) > 0 {
		b.WriteString("\nViolations:\n\n" + strings.Join(list, "\n") + "\n")
	}
	return b.String()
}

// pct is the p-th percentile (nearest rank), "-" for none.
func pct(ds []time.Duration, p int) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (p*len(s)+99)/100 - 1
	return s[max(i, 0)].Round(10 * time.Millisecond).String()
}
