package api_test

import (
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/internal/testcluster"
)

// The guard judges the state the leader holds, not a follower's older
// copy: a follower that applies drains a second and a half late is
// asked, right after two drains committed on the leader, for a third
// that would send www to its fallback; it catches up with the leader
// first, so it refuses (409) and nothing is drained, where its own
// state alone would have let the drain through.
func TestGuardCatchesUpOnALaggingFollower(t *testing.T) {
	var lagging atomic.Pointer[string]
	c := testcluster.New(t, testcluster.Options{Configure: func(m *testcluster.Member, cfg *node.Config) {
		id := m.ID
		cfg.ApplyHook = func(cmd *controller.Command) {
			if p := lagging.Load(); p != nil && *p == id && cmd.Type == controller.CmdSetOverride {
				time.Sleep(1500 * time.Millisecond) // a slow follower: fault injection, not a timing assertion
			}
		}
	}})
	leader, f := c.Leader(), follower(c)
	lagging.Store(&f.ID)
	lead := "http://" + leader.Node.APIAddr()
	for _, dc := range []string{"us-east", "us-west"} {
		if code, body := call(t, lead, "POST", "/v1/overrides/drain", "", api.DrainRequest{Target: dc, Reason: "two drains"}); code != 200 {
			t.Fatalf("drain %s on the leader: %d %s", dc, code, body)
		}
	}
	if hasOverride(f, "drain:us-west", "two drains") {
		t.Fatal("the follower applied the drains at once: the test would not tell a catch-up from none")
	}
	code, body := call(t, "http://"+f.Node.APIAddr(), "POST", "/v1/overrides/drain", "", api.DrainRequest{Target: "eu-west", Reason: "oops"})
	var ref api.RefusalError
	if err := json.Unmarshal(body, &ref); code != 409 || err != nil || len(ref.Problems) != 1 || ref.Problems[0].Path != "www.example.test. A" {
		t.Fatalf("the third drain through the lagging follower: %d %s, want 409 naming www", code, body)
	}
	for _, m := range c.Live() {
		if hasOverride(m, "drain:eu-west", "oops") {
			t.Errorf("%s has the refused drain", m.ID)
		}
	}
}
