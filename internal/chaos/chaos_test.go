package chaos

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
)

// fixedSeeds is the short subset `go test` runs: seeds whose schedules
// cover a datacenter kill, a freeze after a site death and a partition.
var fixedSeeds = []uint64{262}

// TestChaos runs trials of real agents in namespaces under random faults
// and fails on any invariant violation. DETOUR_CHAOS_SEED runs one seed
// (a failing seed reproduces its schedule); DETOUR_CHAOS_TRIALS=N with
// DETOUR_CHAOS_FIRST=S runs seeds S..S+N-1 (bench/chaos.sh), writing each
// result as a JSON line to DETOUR_CHAOS_OUT.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real agents for a minute or more")
	}
	requireLab(t)
	seeds := fixedSeeds
	faults := 3
	if s := os.Getenv("DETOUR_CHAOS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		seeds = []uint64{v}
	}
	if s := os.Getenv("DETOUR_CHAOS_TRIALS"); s != "" {
		n, _ := strconv.Atoi(s)
		first, _ := strconv.ParseUint(os.Getenv("DETOUR_CHAOS_FIRST"), 10, 64)
		seeds = nil
		for i := range n {
			seeds = append(seeds, first+uint64(i))
		}
	}
	if s := os.Getenv("DETOUR_CHAOS_FAULTS"); s != "" {
		faults, _ = strconv.Atoi(s)
	}
	var out *json.Encoder
	if p := os.Getenv("DETOUR_CHAOS_OUT"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		out = json.NewEncoder(f)
	}
	bin := detourBin(t)
	for _, seed := range seeds {
		dir, clean, err := TrialDir(seed)
		if err != nil {
			t.Fatal(err)
		}
		res, err := RunTrial(TrialConfig{Seed: seed, Faults: faults, Only: os.Getenv("DETOUR_CHAOS_ONLY"), Bin: bin, Dir: dir, Logf: t.Logf})
		if os.Getenv("DETOUR_CHAOS_KEEP") == "" {
			clean()
		} else {
			t.Logf("seed %d: scratch dir (logs) kept: %s", seed, dir)
		}
		if err != nil {
			t.Errorf("seed %d: harness: %v", seed, err)
			continue
		}
		if out != nil {
			_ = out.Encode(res)
		}
		for _, v := range res.Violations {
			t.Errorf("seed %d: %s", seed, v)
		}
		for _, n := range res.Notes {
			t.Logf("seed %d: note: %s", seed, n)
		}
		for _, f := range res.Failovers {
			t.Logf("seed %d: failover %s: %s", seed, f.Kind, f.Took)
		}
		t.Logf("seed %d: converged %s after healing", seed, res.Converge)
	}
}
