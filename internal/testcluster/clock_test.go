package testcluster

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/node"
)

// skewedCluster starts a cluster whose members read their wall clock
// through skews, all zero until the test sets one.
func skewedCluster(t *testing.T) (*Cluster, map[string]*atomic.Int64) {
	t.Helper()
	skews := map[string]*atomic.Int64{}
	c := New(t, Options{Configure: func(m *Member, cfg *node.Config) {
		skew := new(atomic.Int64)
		skews[m.ID] = skew
		cfg.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	}})
	return c, skews
}

// One node's clock a day ahead, as the leader or as a follower whose
// observer reports every 300 ms, used to make every new `--for 30m`
// drain be refused, a 2h drain expire at once and a stopped node never
// go stale. The cluster's clock is the leader's term clock now: none of
// that happens.
func TestSkewedClockRulesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		lead bool
	}{{"leader", true}, {"follower", false}} {
		t.Run(tc.name, func(t *testing.T) {
			c, skews := skewedCluster(t)
			skewed := c.Member("us-east")
			if tc.lead {
				moveLeader(t, c, "us-east")
				if c.Leader() != skewed {
					t.Skip("could not move the leader to the skewed node")
				}
			} else if c.Leader() == skewed {
				moveLeader(t, c, "us-west")
				if c.Leader() == skewed {
					t.Skip("could not move the leader off the skewed node")
				}
			}
			skews[skewed.ID].Store(int64(24 * time.Hour))
			if tc.lead {
				// A term begun under the skewed clock.
				_ = skewed.Node.Store().StepDown(t.Context())
				moveLeader(t, c, "us-east")
				if c.Leader() != skewed {
					t.Skip("could not move the leader back to the skewed node")
				}
			}
			checkClockUnskewed(t, c, skewed)
		})
	}
}

// checkClockUnskewed drains through the skewed node's API and stops a
// node, and checks that durations and staleness follow real time.
func checkClockUnskewed(t *testing.T, c *Cluster, skewed *Member) {
	t.Helper()
	start := time.Now()
	if code, body := postDrain(t, skewed, "eu-west", "30m"); code != http.StatusOK {
		t.Fatalf("a 30m drain through %s: %d %s", skewed.ID, code, body)
	}
	if code, body := postDrain(t, skewed, "us-east", "3s"); code != http.StatusOK {
		t.Fatalf("a 3s drain through %s: %d %s", skewed.ID, code, body)
	}
	for _, m := range c.Live() {
		c.WaitAnswer(m, Answers["us-west"], 5*time.Second)
	}
	for _, m := range c.Live() {
		c.WaitAnswer(m, Answers["us-east"], 25*time.Second)
	}
	took := time.Since(start)
	if took < 3*time.Second || took > 20*time.Second { // generous: a loaded machine runs late, never early
		t.Errorf("the 3s drain ended %s after it was asked for", took)
	}
	t.Logf("the 3s drain ended %s after it was asked for", took.Round(10*time.Millisecond))
	for _, m := range c.Live() {
		view := m.Node.Store().FSM().View()
		o, ok := view.Drain("eu-west")
		switch {
		case !ok:
			t.Errorf("%s: the 30m drain is gone after %s", m.ID, time.Since(start))
		case o.Expires.Sub(o.Created) != 30*time.Minute:
			t.Errorf("%s: the 30m drain runs from %s to %s", m.ID, o.Created, o.Expires)
		}
		if off := view.Now().Sub(time.Now()).Abs(); off > time.Minute {
			t.Errorf("%s: the cluster's clock is %s off real time (%s)", m.ID, off, view.Now())
		}
	}
	var stopped *Member
	for _, m := range c.Live() {
		if m != skewed && m != c.Leader() {
			stopped = m
		}
	}
	c.StopNode(stopped)
	stoppedAt := time.Now()
	leader := c.Leader()
	deadline := stoppedAt.Add(15 * time.Second)
	for fresh := true; fresh; {
		o, _ := leader.Node.Store().FSM().View().Observer(stopped.ID)
		fresh = o.Fresh
		if fresh && time.Now().After(deadline) {
			t.Fatalf("%s stopped %s ago and is still a fresh observer (StaleAfter %s)", stopped.ID, time.Since(stoppedAt), Timing.StaleAfter)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("stale %s after the stop (StaleAfter %s)", time.Since(stoppedAt).Round(100*time.Millisecond), Timing.StaleAfter)
}

// postDrain asks m's API for a drain of target for d.
func postDrain(t *testing.T, m *Member, target, d string) (int, string) {
	t.Helper()
	code, body, _ := postDrainHeader(t, m, target, d)
	return code, body
}

// postDrainHeader is postDrain with the reply's header.
func postDrainHeader(t *testing.T, m *Member, target, d string) (int, string, http.Header) {
	t.Helper()
	body, _ := json.Marshal(api.DrainRequest{Target: target, Reason: "clock test", For: d})
	req, err := http.NewRequest(http.MethodPost, "http://"+m.Node.APIAddr()+"/v1/overrides/drain", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b), resp.Header
}
