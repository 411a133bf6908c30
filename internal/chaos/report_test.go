package chaos

import (
	"bufio"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The report counts trials and violations per fault and gives
// percentiles of failover and recovery.
func TestReport(t *testing.T) {
	rs := []TrialResult{
		{Seed: 7, Converge: time.Second,
			Faults:     []FaultRun{{Kind: FaultKillDC}, {Kind: FaultPartition}},
			Recovered:  []time.Duration{2 * time.Second, -1},
			Failovers:  []Failover{{Kind: FaultKillDC + " (leader's)", Took: 3 * time.Second}},
			Violations: []Violation{{Invariant: 1, Node: "n2", What: "answers 198.51.100.1", Fault: FaultKillDC}}},
		{Seed: 8, Converge: -1, Faults: []FaultRun{{Kind: FaultKillDC}}, Recovered: []time.Duration{time.Second}},
	}
	got := Report(rs, 7, "abc123", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
	for _, want := range []string{
		"2 trials, seeds 7-8, commit abc123, 2026-01-02: 1 of 2 without a violation (1 violations)",
		"| kill -9 datacenter | 2 | 1 | - | - | 1s | 2s |",
		"| kill -9 datacenter (leader's) | 0 | 0 | 3s | 3s | - | - |",
		"| partition one node | 1 | 0 | - | - | - | - (1 never) |",
		"(1 never)",
		"- seed 7: invariant 1",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}

// TestChaosReport writes the report of bench/chaos.sh's results
// (DETOUR_CHAOS_REPORT: the JSON lines; _OUT: where the table goes).
func TestChaosReport(t *testing.T) {
	in := os.Getenv("DETOUR_CHAOS_REPORT")
	if in == "" {
		t.Skip("bench/chaos.sh sets DETOUR_CHAOS_REPORT")
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rs []TrialResult
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r TrialResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	first, _ := strconv.ParseUint(os.Getenv("DETOUR_CHAOS_FIRST"), 10, 64)
	out := Report(rs, first, os.Getenv("DETOUR_CHAOS_COMMIT"), time.Now())
	if err := os.WriteFile(os.Getenv("DETOUR_CHAOS_REPORT_OUT"), []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}
