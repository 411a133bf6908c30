package api_test

import (
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
)

// beatSpec has two jobs with a dead man's switch of a second each, a
// third with one of a minute (for the flood), and a check of another
// type.
const beatSpec = `zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test., negative_ttl: 5}
    nameservers: [ns1.example.test.]
    static: |
      ns1 IN A 127.0.0.1
datacenters: [{name: us-east}, {name: us-west}, {name: eu-west}]
checks:
  - {name: job-a, type: heartbeat, max_age: 1s, interval: 100ms, timeout: 50ms, rise: 1, fall: 1}
  - {name: job-b, type: heartbeat, max_age: 1s, interval: 100ms, timeout: 50ms, rise: 1, fall: 1}
  - {name: mailer, type: heartbeat, max_age: 1m, interval: 1s, rise: 1, fall: 1}
  - {name: web, type: tcp, interval: 200ms, timeout: 100ms, rise: 1, fall: 1}
pools:
  - {name: jobs-a, datacenter: us-east, check: job-a, endpoints: [{address: 192.0.2.50}]}
  - {name: jobs-b, datacenter: us-west, check: job-b, endpoints: [{address: 198.51.100.50}]}
  - {name: mailers, datacenter: eu-west, check: mailer, endpoints: [{address: 203.0.113.50}]}
  - {name: mailers6, datacenter: eu-west, check: mailer, endpoints: [{address: "2001:db8::5"}]}
  - {name: web, datacenter: eu-west, check: web, endpoints: [{address: 203.0.113.10, check_address: "127.0.0.1:1"}]}
records:
  - {name: a.example.test, type: A, pools: [jobs-a]}
  - {name: b.example.test, type: A, pools: [jobs-b]}
  - {name: mail.example.test, type: A, pools: [mailers]}
  - {name: mail.example.test, type: AAAA, pools: [mailers6]}
  - {name: www.example.test, type: A, pools: [web]}
`

// Tokens bound to checks: cron-a may beat job-a only, mailer-1 only the
// first endpoint of mailer.
const (
	tokJobA    = "job-a-token-0123456789"
	tokMailer1 = "mailer-1-token-0123456789"
)

func beatTokens() *api.Tokens {
	t := testTokens()
	t.AddToken(api.Token{Name: "cron-a", Scope: api.ScopeHeartbeat, Checks: []string{"job-a"}}, tokJobA)
	t.AddToken(api.Token{Name: "mailer-1", Scope: api.ScopeHeartbeat, Checks: []string{"mailer"}, Endpoints: []string{"203.0.113.50"}}, tokMailer1)
	return t
}

func beatPath(check, endpoint string) string {
	return "/v1/heartbeat/" + url.PathEscape(check) + "/" + url.PathEscape(endpoint)
}

// endpointUp reads the cluster's verdict on an endpoint from /v1/status.
func endpointUp(t *testing.T, base, pool, address string) (known, up bool) {
	t.Helper()
	var st api.Status
	getJSON(t, base, "/v1/status", tokRead, &st)
	for _, dc := range st.Datacenters {
		for _, p := range dc.Pools {
			for _, ep := range p.Endpoints {
				if p.Name == pool && ep.Address == address {
					return ep.Known, ep.Up
				}
			}
		}
	}
	t.Fatalf("no endpoint %s in pool %s in /v1/status", address, pool)
	return false, false
}

// The audit's attack: job A's token kept job B's dead man's switch alive.
// Now the token is refused for B, and B goes down while A, beating with
// the same token, stays up.
func TestHeartbeatTokenBoundToItsCheck(t *testing.T) {
	_, base := startNode(t, beatSpec, beatTokens())
	if code, body := call(t, base, "POST", beatPath("job-b", "198.51.100.50"), tokJobA, nil); code != http.StatusForbidden {
		t.Fatalf("job A's token beating job B: %d %s, want 403", code, body)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if code, body := call(t, base, "POST", beatPath("job-a", "192.0.2.50"), tokJobA, nil); code != http.StatusNoContent {
			t.Fatalf("job A's beat: %d %s", code, body)
		}
		if code, _ := call(t, base, "POST", beatPath("job-b", "198.51.100.50"), tokJobA, nil); code != http.StatusForbidden {
			t.Fatalf("job A's token beating job B: %d, want 403", code)
		}
		if known, up := endpointUp(t, base, "jobs-b", "198.51.100.50"); known && !up {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("job B never went down while only job A's token beat it")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if known, up := endpointUp(t, base, "jobs-a", "192.0.2.50"); !known || !up {
		t.Errorf("job A: known %v up %v, want up: its token's beats count", known, up)
	}
}

// What the heartbeat route answers, with its scopes and bindings.
func TestHeartbeatRoute(t *testing.T) {
	_, base := startNode(t, beatSpec, beatTokens())
	cases := []struct {
		name, method, check, endpoint, token string
		want                                 int
	}{
		{"bound token", "POST", "mailer", "203.0.113.50", tokMailer1, 204},
		{"bound token, another endpoint of its check", "POST", "mailer", "2001:db8::5", tokMailer1, 403},
		{"bound token, another check", "POST", "job-a", "192.0.2.50", tokMailer1, 403},
		{"unbound heartbeat token", "POST", "job-a", "192.0.2.50", tokBeat, 403},
		{"unknown check, bound token", "POST", "weekly", "192.0.2.50", tokJobA, 403},
		{"operate token, any check", "POST", "job-b", "198.51.100.50", tokOperate, 204},
		{"ipv6 endpoint, other spelling", "POST", "mailer", "2001:0db8:0:0::5", tokOperate, 204},
		{"unknown check", "POST", "weekly", "192.0.2.50", tokOperate, 404},
		{"unknown endpoint", "POST", "job-a", "192.0.2.51", tokOperate, 404},
		{"not a heartbeat check", "POST", "web", "203.0.113.10", tokOperate, 400},
		{"no token", "POST", "job-a", "192.0.2.50", "", 401},
		{"unknown token", "POST", "job-a", "192.0.2.50", "guess-0123456789abcdef", 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if code, body := call(t, base, c.method, beatPath(c.check, c.endpoint), c.token, nil); code != c.want {
				t.Errorf("%d %s, want %d", code, body, c.want)
			}
		})
	}
}

// A flood of beats from one token costs a bounded number of Raft
// commits: beats for a target within a window (a tenth of max_age, at
// most a second) are coalesced. The audit measured ~800 commits a second
// from one token; without coalescing this flood commits every beat.
func TestHeartbeatFloodIsCoalesced(t *testing.T) {
	n, base := startNode(t, beatSpec, beatTokens())
	const (
		workers = 8
		flood   = 2 * time.Second
	)
	before := n.Store().AppliedIndex()
	start := time.Now()
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < flood {
				req, _ := http.NewRequest("POST", base+beatPath("mailer", "203.0.113.50"), nil)
				req.Header.Set("Authorization", "Bearer "+tokMailer1)
				resp, err := client.Do(req)
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
	commits := n.Store().AppliedIndex() - before
	t.Logf("%d beats answered 204 (%d failed) in %s: %d Raft commits (%.1f/s, heartbeats and observer reports)",
		ok.Load(), failed.Load(), elapsed.Round(time.Millisecond), commits, float64(commits)/elapsed.Seconds())
	if failed.Load() > 0 {
		t.Errorf("%d beats were not answered 204", failed.Load())
	}
	if ok.Load() < 100 {
		t.Fatalf("only %d beats in %s: the flood is too thin to show anything", ok.Load(), flood)
	}
	// One beat a second, plus observer reports; generous for a slow
	// machine, far below one commit per beat.
	if limit := uint64(20); commits > limit {
		t.Errorf("%d commits for %d beats, want at most %d", commits, ok.Load(), limit)
	}
}

// Beats for endpoints the spec does not define are refused before
// anything is proposed: made-up endpoints cannot turn into commits.
func TestHeartbeatUnknownEndpointsCommitNothing(t *testing.T) {
	n, base := startNode(t, beatSpec, beatTokens())
	before := n.Store().AppliedIndex()
	for i := range 200 {
		ep := "192.0.2." + strconv.Itoa(i)
		if ep == "192.0.2.50" {
			continue
		}
		if code, body := call(t, base, "POST", beatPath("job-a", ep), tokOperate, nil); code != http.StatusNotFound {
			t.Fatalf("beat for %s: %d %s, want 404", ep, code, body)
		}
	}
	// Observer reports commit meanwhile; 200 beats would be 200 more.
	if commits := n.Store().AppliedIndex() - before; commits > 20 {
		t.Errorf("%d commits for 200 beats of unknown endpoints", commits)
	}
}
