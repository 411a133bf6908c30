package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/testcluster"
)

func follower(c *testcluster.Cluster) *testcluster.Member {
	leader := c.Leader()
	for _, m := range c.Live() {
		if m != leader {
			return m
		}
	}
	return nil
}

func hasOverride(m *testcluster.Member, key, reason string) bool {
	for _, o := range m.Node.Store().FSM().View().Overrides() {
		if o.Key() == key {
			return o.Reason == reason
		}
	}
	return false
}

// A write sent to a follower reaches the leader, and every node serves
// the result; reads on a follower say how fresh they are.
func TestForwardFromFollower(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{})
	f := follower(c)
	base := "http://" + f.Node.APIAddr()
	code, body := call(t, base, "POST", "/v1/overrides/drain", "", api.DrainRequest{Target: "us-east", Reason: "forwarded"})
	if code != 200 {
		t.Fatalf("drain via follower %s: %d %s", f.ID, code, body)
	}
	for _, m := range c.Live() {
		c.WaitAnswer(m, testcluster.Answers["us-west"], 10*time.Second)
	}
	var st api.Status
	getJSON(t, base, "/v1/status", "", &st)
	if st.Freshness.RaftState != "Follower" || st.Freshness.Node != f.ID || st.Leader == "" || st.Leader == f.ID || st.Freshness.AppliedIndex == 0 {
		t.Errorf("follower's freshness: %+v, leader %q", st.Freshness, st.Leader)
	}
	if len(st.Members) != 3 || len(st.Observers) != 3 {
		t.Errorf("members %d, observers %d", len(st.Members), len(st.Observers))
	}
	for _, dc := range st.Datacenters {
		if len(dc.Pools) != 1 || len(dc.Pools[0].Endpoints[0].Observers) != 3 {
			t.Errorf("%s: want one pool with three observers' views: %+v", dc.Name, dc)
		}
	}
	var ms api.MembersResponse
	getJSON(t, base, "/v1/members", "", &ms)
	leaders := 0
	for _, m := range ms.Members {
		if m.Leader {
			leaders++
		}
		if !m.Voter || m.Datacenter == "" || m.Address == "" {
			t.Errorf("member %+v", m)
		}
	}
	if leaders != 1 {
		t.Errorf("%d leaders in %+v", leaders, ms.Members)
	}
	// Membership changes go to the leader too; a stepdown moves it.
	old := c.Leader()
	if code, body := call(t, base, "POST", "/v1/members/stepdown", "", nil); code != 200 {
		t.Fatalf("stepdown: %d %s", code, body)
	}
	deadline := time.Now().Add(15 * time.Second)
	for c.Leader() == old && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if c.Leader() == old {
		t.Errorf("%s still leads after a stepdown", old.ID)
	}
	c.CheckInvariants()
}

// Writes made while the leader's datacenter dies are either applied
// (and then held by every surviving node) or refused with a clear
// error; none is silently lost.
func TestWriteDuringLeaderChange(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{})
	leader := c.Leader()
	f := follower(c)
	base := "http://" + f.Node.APIAddr()
	type result struct {
		reason string
		code   int
		body   string
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	targets := []string{"web-us-east", "web-us-west", "web-eu-west", "us-west", "eu-west"}
	client := &http.Client{Timeout: 30 * time.Second}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i, target := range targets {
			reason := fmt.Sprintf("write %d during the leader change", i)
			// The last drains leave www no pool: forced past the guard.
			data, _ := json.Marshal(api.DrainRequest{Target: target, Reason: reason, Guard: api.Guard{Force: true}})
			resp, err := client.Post(base+"/v1/overrides/drain", "application/json", bytes.NewReader(data))
			r := result{reason: reason}
			if err != nil {
				r.body = err.Error()
			} else {
				var buf bytes.Buffer
				buf.ReadFrom(resp.Body)
				resp.Body.Close()
				r.code, r.body = resp.StatusCode, buf.String()
			}
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
	}()
	time.Sleep(150 * time.Millisecond)
	c.KillDC(leader.DC)
	wg.Wait()
	newLeader := c.Leader()
	if newLeader == leader {
		t.Fatal("the dead leader still leads")
	}
	applied := 0
	for i, r := range results {
		switch r.code {
		case 200:
			applied++
			deadline := time.Now().Add(10 * time.Second)
			for _, m := range c.Live() {
				for !hasOverride(m, "drain:"+targets[i], r.reason) {
					if time.Now().After(deadline) {
						t.Fatalf("%q was acknowledged but %s does not hold it", r.reason, m.ID)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		case 503, 409:
			var e api.Error
			if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Error == "" {
				t.Errorf("%q: refused without a JSON error: %s", r.reason, r.body)
			}
		default:
			t.Errorf("%q: %d %s", r.reason, r.code, r.body)
		}
	}
	if applied == 0 {
		t.Errorf("no write succeeded across the leader change: %+v", results)
	}
	// After the election, writes work again through the same follower.
	if code, body := call(t, base, "POST", "/v1/overrides/undrain", "", api.DrainRequest{Target: "web-eu-west"}); code != 200 && !strings.Contains(body2s(body), "not drained") {
		t.Errorf("undrain after the election: %d %s", code, body)
	}
	c.CheckInvariants()
}

func body2s(b []byte) string { return string(b) }
