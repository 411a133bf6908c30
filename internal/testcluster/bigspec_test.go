package testcluster

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

// bigSpecRecords is the size of the static zone applied under load:
// 200,000, or 20,000 under the race detector, which slows the three
// in-process compiles tenfold on the same two cores (the 200,000-record
// figures come from the plain run and bench/spec-apply.sh).
var bigSpecRecords = map[bool]int{false: 200_000, true: 20_000}[testutil.Race]

// TestFailoverDuringBigSpecApply applies a spec of 200,000 records and,
// while it is being applied (committed, compiling on every replica), kills
// the first datacenter: the failover still completes within interval x
// fall + 1 s, and reads (the View, /v1/status) never wait long.
func TestFailoverDuringBigSpecApply(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles 200,000 records on three nodes")
	}
	const interval, fall = time.Second, 2
	// The WAN timing: the fast test timing (a 150 ms leader lease) is
	// lost to CPU starvation when three in-process nodes compile the spec
	// on a two-core machine; real nodes each compile on their own.
	timing := controller.DefaultTiming
	opts := Options{Interval: interval, Fall: fall, Timing: &timing}
	if path := os.Getenv("DETOUR_BIGSPEC_LOG"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		opts.Logger = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	c := New(t, opts)
	// The leader away from the datacenter lost, when it can be placed:
	// the target is the state machine's, not the election's.
	for i := 0; i < 5 && c.Leader().DC == "us-east"; i++ {
		_ = c.Leader().Node.Store().StepDown(context.Background())
		time.Sleep(time.Second)
	}
	sp, y := bigClusterSpec(t, c.Spec, bigSpecRecords)
	proposer := c.Member("us-west")
	watched := c.Member("eu-west")

	applied := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		_, err := proposer.Node.Store().Propose(ctx, &controller.Command{Type: controller.CmdSetSpec, Spec: controller.ParsedSpec(sp, y, "big-spec test")})
		applied <- err
	}()
	testutil.Eventually(t, "the big spec committed", 60*time.Second, func() bool {
		return watched.Node.Store().FSM().View().Staged() != nil
	})

	// Readers from now until the spec is in force.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var maxView, maxStatus time.Duration
	var statusErr atomic.Value
	wg.Go(func() {
		for !stop.Load() {
			start := time.Now()
			v := watched.Node.Store().FSM().View()
			_, _ = v.Observers(), v.Decisions()
			maxView = max(maxView, time.Since(start))
			time.Sleep(2 * time.Millisecond)
		}
	})
	wg.Go(func() {
		client := &http.Client{Timeout: 5 * time.Second}
		for !stop.Load() {
			start := time.Now()
			resp, err := client.Get("http://" + watched.Node.APIAddr() + "/v1/status")
			if err != nil {
				statusErr.Store(err)
				return
			}
			resp.Body.Close()
			maxStatus = max(maxStatus, time.Since(start))
			time.Sleep(20 * time.Millisecond)
		}
	})

	killed := time.Now()
	c.KillDC("us-east")
	t.Logf("killed us-east in %s", time.Since(killed).Round(time.Millisecond))
	var took time.Duration
	for _, m := range c.Live() {
		c.WaitAnswer(m, Answers["us-west"], 30*time.Second)
		t.Logf("%s answers us-west %s after the kill", m.ID, time.Since(killed).Round(time.Millisecond))
	}
	took = time.Since(killed)
	stillStaged := watched.Node.Store().FSM().View().Staged() != nil

	if err := <-applied; err != nil {
		t.Fatalf("applying the big spec: %v", err)
	}
	stop.Store(true)
	wg.Wait()
	last := fmt.Sprintf("h%d.big.test.", bigSpecRecords-1)
	for _, m := range c.Live() {
		for end := time.Now().Add(30 * time.Second); c.Query(m, last) != testutil.BigZoneAnswer(bigSpecRecords-1); {
			if time.Now().After(end) {
				t.Fatalf("%s does not serve the big zone: %s", m.ID, c.Query(m, last))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("failover %s after the kill (spec still compiling then: %v); longest read: view %s, /v1/status %s",
		took.Round(time.Millisecond), stillStaged, maxView, maxStatus.Round(time.Millisecond))
	// Under the race detector every bound is three times as wide: the
	// detector slows the three compiles and the nodes' own work alike on
	// the same two cores, and CI runs other packages meanwhile. The plain
	// run holds the target itself.
	scale := time.Duration(1)
	if testutil.Race {
		scale = 3
	}
	// The target is interval x fall + 1 s (3 s here), met in the plain
	// runs (2.2-2.6 s, docs/benchmarks.md); a test asserts twice that,
	// so that a loaded machine does not fail it, while an apply that
	// stalled failover (the whole compile, 8-9 s) still does.
	if budget := scale * 2 * (interval*fall + time.Second); took > budget {
		t.Errorf("failover took %s during the big apply, want within %s", took, budget)
	}
	if err, _ := statusErr.Load().(error); err != nil {
		t.Errorf("/v1/status during the apply: %v", err)
	}
	// Generous bounds: the machine compiles three copies meanwhile, and
	// an HTTP round trip on a loaded machine waits for the scheduler too.
	// Before the view, a read waited for the whole apply (seconds).
	if bound := scale * 200 * time.Millisecond; maxView > bound {
		t.Errorf("a view read waited %s during the apply, bound %s", maxView, bound)
	}
	if bound := scale * 500 * time.Millisecond; maxStatus > bound {
		t.Errorf("/v1/status waited %s during the apply, bound %s", maxStatus, bound)
	}
}

// bigClusterSpec is the cluster's spec with a zone big.test of n A
// records, parsed, and its YAML.
func bigClusterSpec(t testing.TB, text string, n int) (*spec.Spec, []byte) {
	t.Helper()
	s, err := spec.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	s.Zones = append(s.Zones, spec.Zone{Name: "big.test", Nameservers: []string{"ns1.big.test."},
		SOA: &spec.SOA{MName: "ns1.big.test.", RName: "hostmaster.big.test."}, Static: "ns1 IN A 127.0.0.1\n" + testutil.BigZoneText(n)})
	y, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if s, err = spec.Parse(y); err != nil {
		t.Fatal(err)
	}
	return s, y
}
