package api_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/seed3787e6f1/detour/internal/api"
)

func TestAuth(t *testing.T) {
	_, base := startNode(t, specText(t), testTokens())
	drain := api.DrainRequest{Target: "us-east", Reason: "maintenance"}
	specBody := func() api.SpecRequest {
		var sp api.SpecResponse
		getJSON(t, base, "/v1/spec", tokRead, &sp)
		return api.SpecRequest{YAML: strings.Replace(sp.YAML, "ttl: 30", "ttl: 31", 1)}
	}
	cases := []struct {
		name, method, path, token string
		body                      any
		want                      int
	}{
		{"status without a token", "GET", "/v1/status", "", nil, 401},
		{"status with an unknown token", "GET", "/v1/status", "not-a-token-at-all", nil, 401},
		{"status as heartbeat", "GET", "/v1/status", tokBeat, nil, 403},
		{"metrics without a token", "GET", "/metrics", "", nil, 401},
		{"drain without a token", "POST", "/v1/overrides/drain", "", drain, 401},
		{"drain with an unknown token", "POST", "/v1/overrides/drain", "wrong-token-0123456789", drain, 401},
		{"drain as read", "POST", "/v1/overrides/drain", tokRead, drain, 403},
		{"drain as heartbeat", "POST", "/v1/overrides/drain", tokBeat, drain, 403},
		{"pin as read", "POST", "/v1/overrides/pin", tokRead, api.PinRequest{Record: "www.example.test", Pool: "web-us-west", Reason: "x"}, 403},
		{"spec apply without a token", "PUT", "/v1/spec", "", specBody(), 401},
		{"spec apply as operate", "PUT", "/v1/spec", tokOperate, specBody(), 403},
		{"members add as operate", "POST", "/v1/members", tokOperate, api.AddMember{ID: "x", Address: "127.0.0.1:9"}, 403},
		{"members remove as read", "DELETE", "/v1/members/dev", tokRead, nil, 403},
		{"stepdown as operate", "POST", "/v1/members/stepdown", tokOperate, nil, 403},
		{"heartbeat without a token", "POST", "/v1/heartbeat/web/192.0.2.10", "", nil, 401},
		{"heartbeat as read", "POST", "/v1/heartbeat/web/192.0.2.10", tokRead, nil, 403},
	}
	before := snapshot(t, base)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := call(t, base, c.method, c.path, c.token, c.body)
			if code != c.want {
				t.Fatalf("%s %s: %d, want %d: %s", c.method, c.path, code, c.want, body)
			}
			var e api.Error
			if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
				t.Errorf("error body is not {\"error\": ...}: %s", body)
			}
			if after := snapshot(t, base); after != before {
				t.Errorf("a refused request changed the state:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	// The right scopes succeed; a read scope reads.
	ok := []struct {
		name, method, path, token string
		body                      any
		want                      int
	}{
		{"status as read", "GET", "/v1/status", tokRead, nil, 200},
		{"metrics as read", "GET", "/metrics", tokRead, nil, 200},
		{"health needs no token", "GET", "/v1/health", "", nil, 200},
		{"ready needs no token", "GET", "/v1/ready", "", nil, 200},
		{"drain as operate", "POST", "/v1/overrides/drain", tokOperate, drain, 200},
		{"undrain as admin", "POST", "/v1/overrides/undrain", tokAdmin, api.DrainRequest{Target: "us-east"}, 200},
		{"spec apply as admin", "PUT", "/v1/spec", tokAdmin, specBody(), 200},
		// The check is tcp, so a beat is refused as 400 after auth.
		{"heartbeat as heartbeat", "POST", "/v1/heartbeat/web/192.0.2.10", tokBeat, nil, 400},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			if code, body := call(t, base, c.method, c.path, c.token, c.body); code != c.want {
				t.Fatalf("%s %s: %d, want %d: %s", c.method, c.path, code, c.want, body)
			}
		})
	}
	var ev api.EventsResponse
	getJSON(t, base, "/v1/events", tokRead, &ev)
	authors := ""
	for _, e := range ev.Events {
		authors += e.Message + "\n"
	}
	for _, want := range []string{"drain datacenter us-east by oncall: maintenance", "cleared by deployer", "applied by deployer"} {
		if !strings.Contains(authors, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, authors)
		}
	}
}

func TestBadBodies(t *testing.T) {
	_, base := startNode(t, specText(t), nil)
	big := `{"target": "us-east", "reason": "` + strings.Repeat("x", api.MaxBody) + `"}`
	cases := []struct {
		name, path, body, want string
	}{
		{"oversized", "/v1/overrides/drain", big, "larger than"},
		{"malformed", "/v1/overrides/drain", `{"target": "us-east",`, "not valid JSON"},
		{"not an object", "/v1/overrides/drain", `["us-east"]`, "not valid JSON"},
		{"unknown field", "/v1/overrides/drain", `{"target": "us-east", "reason": "x", "forever": true}`, "unknown field"},
		{"trailing data", "/v1/overrides/drain", `{"target": "us-east", "reason": "x"} {}`, "after the JSON"},
		{"empty", "/v1/overrides/drain", ``, "empty"},
		{"no reason", "/v1/overrides/drain", `{"target": "us-east"}`, "reason is required"},
		{"bad duration", "/v1/overrides/drain", `{"target": "us-east", "reason": "x", "for": "soon"}`, "want a duration"},
		{"unknown target", "/v1/overrides/drain", `{"target": "us-north", "reason": "x"}`, "us-east, us-west, eu-west"},
		{"invalid spec", "/v1/spec", `{"yaml": "zones: []\nbogus: 1\n"}`, "invalid"},
		{"oversized spec", "/v1/spec", `{"yaml": "` + strings.Repeat("#", api.MaxBody) + `"}`, "larger than"},
		{"pin to a foreign pool", "/v1/overrides/pin", `{"record": "www.example.test", "pool": "nope", "reason": "x"}`, "not one of"},
		{"drill an unknown datacenter", "/v1/drill", `{"lose": "mars"}`, "not in the spec"},
	}
	before := snapshot(t, base)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := "POST"
			if c.path == "/v1/spec" {
				method = "PUT"
			}
			code, body := call(t, base, method, c.path, "", c.body)
			if code != 400 && !(c.name == "unknown target" || c.name == "pin to a foreign pool") {
				t.Errorf("%d, want 400: %s", code, body)
			}
			if code < 400 || code >= 500 {
				t.Errorf("%d: %s", code, body)
			}
			if !strings.Contains(string(body), c.want) {
				t.Errorf("the error does not say %q: %s", c.want, body)
			}
			if after := snapshot(t, base); after != before {
				t.Errorf("a refused request changed the state:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func TestStatusAndOverrides(t *testing.T) {
	_, base := startNode(t, specText(t, siteUp(t), siteUp(t)), nil)
	var st api.Status
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		getJSON(t, base, "/v1/status", "", &st)
		if len(st.Datacenters) == 3 && st.Datacenters[2].Pools[0].Endpoints[0].Known || time.Now().After(deadline) {
			break
		}
	}
	if st.Leader != "dev" || len(st.Members) != 1 || !st.Members[0].Leader || st.Freshness.RaftState != "Leader" {
		t.Fatalf("leader and members: %+v %+v", st.Leader, st.Members)
	}
	if len(st.Datacenters) != 3 || len(st.Records) != 1 {
		t.Fatalf("datacenters %d, records %d", len(st.Datacenters), len(st.Records))
	}
	www := st.Records[0]
	if www.Pool != "web-us-east" || strings.Join(www.Answers, ",") != "192.0.2.10" {
		t.Errorf("www: %+v", www)
	}
	eu := st.Datacenters[2]
	if eu.Up || eu.Pools[0].Endpoints[0].Up || len(eu.Pools[0].Endpoints[0].Observers) != 1 || eu.Pools[0].Endpoints[0].Observers[0].Reason == "" {
		t.Errorf("eu-west should be down with the observer's reason: %+v", eu)
	}
	code, body := call(t, base, "POST", "/v1/overrides/drain", "", api.DrainRequest{Target: "us-east", Reason: "maintenance", For: "1h"})
	if code != 200 {
		t.Fatalf("drain: %d %s", code, body)
	}
	var res api.OverrideResult
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	if res.Records[0].Pool != "web-us-west" || !strings.Contains(res.Records[0].Reason, "drained us-east") {
		t.Errorf("after the drain: %+v", res.Records[0])
	}
	// eu-west is down: the pin is forced past the guard (guard_impact_test.go).
	code, body = call(t, base, "POST", "/v1/overrides/pin", "", api.PinRequest{Record: "www.example.test.", Pool: "web-eu-west", Reason: "testing eu", Guard: api.Guard{Force: true}})
	if code != 200 || !strings.Contains(string(body), "pinned to pool web-eu-west") {
		t.Fatalf("pin: %d %s", code, body)
	}
	code, body = call(t, base, "POST", "/v1/overrides/release", "", api.PinRequest{Record: "www.example.test"})
	if code != 200 {
		t.Fatalf("release: %d %s", code, body)
	}
	code, body = call(t, base, "POST", "/v1/overrides/release", "", api.PinRequest{Record: "www.example.test"})
	if code != 404 || !strings.Contains(string(body), "not pinned") {
		t.Errorf("second release: %d %s", code, body)
	}
}

func TestEventsLongPollAndStream(t *testing.T) {
	_, base := startNode(t, specText(t), nil)
	var ev api.EventsResponse
	getJSON(t, base, "/v1/events", "", &ev)
	last := ev.Last
	// A long poll with nothing new returns empty after the wait. A new
	// node still logs its first verdicts, so look for a quiet window; a
	// poll that returns early must return events.
	quiet := false
	for i := 0; i < 5 && !quiet; i++ {
		start := time.Now()
		getJSON(t, base, "/v1/events?wait=300ms&after="+itoa(last), "", &ev)
		took := time.Since(start)
		switch {
		case len(ev.Events) == 0 && took >= 250*time.Millisecond:
			quiet = true
		case len(ev.Events) == 0:
			t.Fatalf("long poll returned nothing after only %s", took)
		default:
			last = ev.Last
		}
	}
	if !quiet {
		t.Error("no quiet 300 ms window in five long polls")
	}
	// A stream sees a drain made after it started.
	req, _ := http.NewRequest("GET", base+"/v1/events?after="+itoa(last), nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	if code, body := call(t, base, "POST", "/v1/overrides/drain", "", api.DrainRequest{Target: "web-us-west", Reason: "stream test"}); code != 200 {
		t.Fatalf("drain: %d %s", code, body)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok && strings.Contains(line, "stream test") {
				found <- line
				return
			}
		}
		found <- ""
	}()
	select {
	case line := <-found:
		if line == "" {
			t.Fatal("stream ended without the drain")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no drain event on the stream within 10s")
	}
}

func TestMetrics(t *testing.T) {
	n, base := startNode(t, specText(t), nil)
	// A zone transfer nobody allowed: refused, and counted.
	axfr := new(dns.Msg)
	axfr.SetAxfr("example.test.")
	if r, _, err := (&dns.Client{Net: "tcp", Timeout: 5 * time.Second}).Exchange(axfr, n.DNSAddr()); err != nil || r.Rcode != dns.RcodeRefused {
		t.Fatalf("AXFR without allow_transfer: %v %v", r, err)
	}
	// The fallback shows once the first round of checks is committed.
	var code int
	var body []byte
	for deadline := time.Now().Add(10 * time.Second); ; {
		code, body = call(t, base, "GET", "/metrics", "", nil)
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		if strings.Contains(string(body), `detour_record_fallback{record="www.example.test.",type="A"} 1`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{`detour_raft_state{state="Leader"} 1`, "detour_raft_last_contact_seconds", "detour_raft_applied_index",
		`detour_dns_replies_total{rcode="NOERROR"}`, `detour_dns_queries_total{type="AXFR"}`, `detour_dns_transfers_total{outcome="refused"} 1`, `detour_record_fallback{record="www.example.test.",type="A"} 1`,
		`detour_endpoint_up{address="192.0.2.10",pool="web-us-east"} 0`, "detour_health_probes_total", "detour_answers_changed_total", "go_goroutines"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
