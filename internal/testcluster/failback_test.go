package testcluster

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// withFailback applies the cluster's spec with www holding its failback
// (extra goes into the record's mapping).
func withFailback(t *testing.T, c *Cluster, extra string) {
	t.Helper()
	text := strings.Replace(c.Spec, "fallback: ["+Fallback+"]}", "fallback: ["+Fallback+"], "+extra+"}", 1)
	if text == c.Spec {
		t.Fatal("the record line of the spec changed shape")
	}
	if err := c.Propose(c.Leader(), &controller.Command{Type: controller.CmdSetSpec, Spec: &controller.SetSpec{YAML: []byte(text), Author: "test"}}); err != nil {
		t.Fatal(err)
	}
}

// postRelease is detour failover www.example.test --release through m's API.
func postRelease(t *testing.T, m *Member) (int, string) {
	t.Helper()
	body, _ := json.Marshal(api.PinRequest{Record: "www.example.test"})
	resp, err := http.Post("http://"+m.Node.APIAddr()+"/v1/overrides/release", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b)
}

// holdsFor checks that every live node answers want for d.
func holdsFor(t *testing.T, c *Cluster, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, m := range c.Live() {
			if got := c.Answer(m); got != want {
				t.Fatalf("%s answers %s during the hold-down, want %s", m.ID, got, want)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// With failback_after: 2s, www stays on us-west after us-east recovers,
// on every node, then moves back once us-east has been healthy 2 s. The
// hold ends by the leader's expiry sweep, at one log position, so the
// replicas' event logs and answers stay identical.
func TestFailbackAfterHoldsThenMovesBack(t *testing.T) {
	c := New(t, Options{})
	withFailback(t, c, "failback_after: 2s")
	east, west := Answers["us-east"], Answers["us-west"]
	c.Member("us-east").Site.SetUp(false)
	for _, m := range c.Live() {
		c.WaitAnswer(m, west, 15*time.Second)
	}
	c.Member("us-east").Site.SetUp(true)
	var held time.Time
	testutil.Eventually(t, "the hold on us-west", 15*time.Second, func() bool {
		var h *controller.FailbackHold
		h = c.Leader().Node.Store().FSM().View().Held("www.example.test.", "A")
		if h != nil {
			held = h.Since
		}
		return h != nil
	})
	holdsFor(t, c, west, time.Second) // well within the 2 s
	took := c.WaitAnswer(c.Live()[0], east, 15*time.Second)
	for _, m := range c.Live() {
		c.WaitAnswer(m, east, 5*time.Second)
	}
	var back time.Time
	for _, ev := range c.Events(c.Leader()) {
		if ev.Kind == "record" && strings.Contains(ev.Message, "now answers "+east) {
			back = ev.Time
		}
	}
	if d := back.Sub(held); d < 2*time.Second || d > 10*time.Second {
		t.Fatalf("failed back %s after us-east was healthy again (waited %s here), want 2 s and a sweep", d, took)
	}
	t.Logf("failed back %s after the recovery (failback_after 2s)", back.Sub(held).Round(10*time.Millisecond))
	c.CheckInvariants()
}

// With failback: manual, www stays on us-west after us-east recovers
// until an operator releases it; the release fails back at once.
func TestFailbackManualWaitsForRelease(t *testing.T) {
	c := New(t, Options{})
	if code, body := postRelease(t, c.Live()[0]); code != http.StatusNotFound {
		t.Fatalf("release with nothing held: %d %s, want 404", code, body)
	}
	withFailback(t, c, "failback: manual")
	east, west := Answers["us-east"], Answers["us-west"]
	c.Member("us-east").Site.SetUp(false)
	c.WaitAnswer(c.Live()[0], west, 15*time.Second)
	c.Member("us-east").Site.SetUp(true)
	testutil.Eventually(t, "us-east up again in the cluster's view", 15*time.Second, func() bool {
		for _, ev := range c.Events(c.Leader()) {
			if ev.Kind == "failback" && strings.Contains(ev.Message, "staying on pool web-us-west until an operator releases it") {
				return true
			}
		}
		return false
	})
	holdsFor(t, c, west, 3*time.Second) // longer than any automatic move would take
	start := time.Now()
	code, body := postRelease(t, c.Live()[1])
	if code != http.StatusOK || !strings.Contains(body, "failing back from pool web-us-west to pool web-us-east") {
		t.Fatalf("release: %d %s", code, body)
	}
	for _, m := range c.Live() {
		c.WaitAnswer(m, east, 5*time.Second)
	}
	t.Logf("failed back %s after the release", time.Since(start).Round(10*time.Millisecond))
	c.CheckInvariants()
}
