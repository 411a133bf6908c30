package notify_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/testcluster"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/notify"
)

// At least once across a leader change: the receiver fails while the
// leader holds committed events, the leader's datacenter dies, the
// receiver recovers; the new leader delivers from the replicated cursor
// and the receiver has seen every event ID at least once.
func TestAtLeastOnceAcrossLeaderChange(t *testing.T) {
	const secret = "cluster-secret"
	t.Setenv("DETOUR_NOTIFY_TEST_HOOK_SECRET", secret)
	var (
		failing atomic.Bool
		mu      sync.Mutex
		seen    = map[string]int{}
		badSig  atomic.Int32
	)
	failing.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if failing.Load() {
			http.Error(w, "receiver overloaded", http.StatusServiceUnavailable)
			return
		}
		if !notify.Verify([]byte(secret), body, r.Header.Get(notify.SignatureHeader)) {
			badSig.Add(1)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var n notify.Notification
		if err := json.Unmarshal(body, &n); err != nil || n.ID != r.Header.Get(notify.IdempotencyHeader) {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		mu.Lock()
		seen[n.ID]++
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)

	c := testcluster.New(t, testcluster.Options{})
	leader := c.Leader()
	text := c.Spec + fmt.Sprintf(`notifications:
  channels:
    - {name: hook, type: webhook, url: %q, secret_env: DETOUR_NOTIFY_TEST_HOOK_SECRET}
`, srv.URL+"/events")
	if err := c.Propose(leader, &controller.Command{Type: controller.CmdSetSpec, Spec: &controller.SetSpec{YAML: []byte(text), Author: "test"}}); err != nil {
		t.Fatal(err)
	}
	var first uint64 // the spec event that added the channel
	for _, ev := range c.Events(leader) {
		if ev.Kind == "spec" {
			first = ev.Seq
		}
	}
	if err := c.Propose(leader, &controller.Command{Type: controller.CmdIncident, Incident: &controller.IncidentCommand{
		Action: "open", Title: "Degraded", Message: "committed before the leader dies", Author: "test"}}); err != nil {
		t.Fatal(err)
	}
	// The leader tried and failed: the events are committed, not
	// delivered.
	cursor := func(m *testcluster.Member) controller.NotifyCursor {
		cur, _ := m.Node.Store().FSM().View().Cursor("hook")
		return cur
	}
	testutil.Eventually(t, "the leader's failed delivery in the cursor", 15*time.Second, func() bool {
		return strings.Contains(cursor(leader).Error, "503")
	})

	lost := leader.DC
	c.KillDC(lost)
	survivor := c.Live()[0]
	newLeader := c.Leader()
	t.Logf("killed %s (leader %s); new leader %s", lost, leader.ID, newLeader.ID)
	// Traffic moves while the receiver is still down: more events the
	// new leader must deliver.
	next := map[string]string{"us-east": "us-west", "us-west": "us-east", "eu-west": "us-east"}[lost]
	c.WaitAnswer(survivor, testcluster.Answers[next], 15*time.Second)
	failing.Store(false)

	var last uint64
	testutil.Eventually(t, "the new leader to deliver everything", 30*time.Second, func() bool {
		last = survivor.Node.Store().FSM().View().NextEvent()
		cur := cursor(survivor)
		return cur.Seq == last && cur.Error == ""
	})
	mu.Lock()
	defer mu.Unlock()
	var missing []uint64
	dups := 0
	for seq := first; seq <= last; seq++ {
		switch n := seen[fmt.Sprint(seq)]; {
		case n == 0:
			missing = append(missing, seq)
		case n > 1:
			dups += n - 1
		}
	}
	if len(missing) > 0 {
		t.Errorf("events never delivered: %v (seen %v)", missing, seen)
	}
	if badSig.Load() > 0 {
		t.Errorf("%d deliveries with a bad signature", badSig.Load())
	}
	t.Logf("events %d..%d delivered at least once; %d duplicates for the receiver to drop", first, last, dups)
	c.CheckInvariants()
}
