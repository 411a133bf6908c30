package testcluster

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// A flood of beats for one job, spread over all three nodes, costs a
// bounded number of commits: each node coalesces the beats it receives
// (one commit per target per window of min(1s, max_age/10)). Without
// coalescing every beat was a commit (~800/s from one client).
func TestHeartbeatFloodAcrossNodes(t *testing.T) {
	c := New(t, Options{})
	yaml := strings.Replace(c.Spec, "checks:\n", "checks:\n  - {name: nightly, type: heartbeat, max_age: 1m, interval: 1s, rise: 1, fall: 1}\n", 1)
	yaml = strings.Replace(yaml, "records:\n", "  - {name: jobs, datacenter: us-east, check: nightly, endpoints: [{address: 192.0.2.50}]}\nrecords:\n", 1)
	if err := c.Propose(c.Leader(), &controller.Command{Type: controller.CmdSetSpec, Spec: &controller.SetSpec{YAML: []byte(yaml)}}); err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Members { // every node has the spec before the flood
		testutil.Eventually(t, m.ID+" to apply the spec", 10*time.Second, func() bool {
			s, _ := m.Node.Store().FSM().Spec()
			return s != nil && len(s.Checks) == 2
		})
	}
	leader := c.Leader().Node.Store()
	before := leader.AppliedIndex()
	const flood = 2 * time.Second
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range 6 { // two clients per node
		url := "http://" + c.Members[i%len(c.Members)].Node.APIAddr() + "/v1/heartbeat/nightly/192.0.2.50"
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < flood {
				resp, err := client.Post(url, "application/json", nil)
				if err != nil {
					failed.Add(1)
					return
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusNoContent {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	commits := leader.AppliedIndex() - before
	t.Logf("%d beats over 3 nodes in %s: %d commits (%.1f/s), observer reports included", ok.Load(), elapsed.Round(time.Millisecond), commits, float64(commits)/elapsed.Seconds())
	if failed.Load() > 0 {
		t.Errorf("%d beats were not answered 204", failed.Load())
	}
	if ok.Load() < 100 {
		t.Fatalf("only %d beats: the flood is too thin to show anything", ok.Load())
	}
	// At most 3 nodes x 3 windows of beats, plus three observers
	// reporting every 300 ms: generous, and far from one per beat.
	if commits > 80 {
		t.Errorf("%d commits for %d beats, want at most 80", commits, ok.Load())
	}
}
