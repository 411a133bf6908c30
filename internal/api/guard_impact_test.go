package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/testcluster"
)

// eventCount counts the events on m whose message contains s.
func eventCount(c *testcluster.Cluster, m *testcluster.Member, s string) int {
	n := 0
	for _, e := range c.Events(m) {
		if strings.Contains(e.Message, s) {
			n++
		}
	}
	return n
}

// After two drains, a third that would send www to its fallback is
// refused, naming the record, unless forced; a dry run shows each
// record before and after and changes nothing. Checked on a follower of
// a real three-node cluster, so the guard runs where the request lands.
func TestGuardRefusesDrainToFallback(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{})
	f := follower(c)
	base := "http://" + f.Node.APIAddr()
	for _, dc := range []string{"us-east", "us-west"} {
		if code, body := call(t, base, "POST", "/v1/overrides/drain", "", api.DrainRequest{Target: dc, Reason: "two drains"}); code != 200 {
			t.Fatalf("drain %s: %d %s", dc, code, body)
		}
	}
	for _, m := range c.Live() {
		c.WaitAnswer(m, testcluster.Answers["eu-west"], 10*time.Second)
	}

	// The dry run: what the third drain would do, nothing changed.
	code, body := call(t, base, "POST", "/v1/overrides/drain", "", api.DrainRequest{Target: "eu-west", Reason: "oops", Guard: api.Guard{DryRun: true}})
	var imp api.Impact
	if err := json.Unmarshal(body, &imp); code != 200 || err != nil {
		t.Fatalf("dry run: %d %s", code, body)
	}
	if !imp.DryRun || !imp.Refused || len(imp.Records) != 1 || len(imp.Harmful) != 1 {
		t.Fatalf("dry run: %+v", imp)
	}
	www := imp.Records[0]
	if www.Before.Pool != "web-eu-west" || strings.Join(www.Before.Answers, ",") != testcluster.Answers["eu-west"] || !www.Before.Healthy ||
		!www.After.Fallback || strings.Join(www.After.Answers, ",") != testcluster.Fallback || www.After.Healthy || !www.Changed {
		t.Errorf("www before and after: %+v", www)
	}
	if want := "www.example.test. A would go to its fallback (203.0.113.10 (pool web-eu-west) → 192.0.2.99 (fallback))"; !strings.HasPrefix(imp.Harmful[0], want) {
		t.Errorf("harm: %q, want it to start %q", imp.Harmful[0], want)
	}

	// Without force: refused, the record named, nothing applied.
	code, body = call(t, base, "POST", "/v1/overrides/drain", "", api.DrainRequest{Target: "eu-west", Reason: "oops"})
	var ref api.RefusalError
	if err := json.Unmarshal(body, &ref); code != 409 || err != nil {
		t.Fatalf("third drain: %d %s, want 409", code, body)
	}
	if !strings.Contains(ref.Error.Error, "--force") || len(ref.Problems) != 1 || ref.Problems[0].Path != "www.example.test. A" ||
		!strings.HasPrefix(ref.Problems[0].Message, "would go to its fallback") || !ref.Impact.Refused {
		t.Errorf("refusal: %s", body)
	}
	for _, m := range c.Live() {
		if got := c.Answer(m); got != testcluster.Answers["eu-west"] {
			t.Errorf("%s answers %s after a refused drain", m.ID, got)
		}
		if hasOverride(m, "drain:eu-west", "oops") {
			t.Errorf("%s has the refused drain", m.ID)
		}
	}

	// With force it proceeds, and says what it forced.
	code, body = call(t, base, "POST", "/v1/overrides/drain", "", api.DrainRequest{Target: "eu-west", Reason: "oops", Guard: api.Guard{Force: true}})
	var res api.OverrideResult
	if err := json.Unmarshal(body, &res); code != 200 || err != nil || !strings.Contains(res.Message, "forced: www.example.test. A would go to its fallback") {
		t.Fatalf("forced drain: %d %s", code, body)
	}
	for _, m := range c.Live() {
		c.WaitAnswer(m, testcluster.Fallback, 10*time.Second)
	}

	// A change that harms nothing new goes through without force: www
	// is on its fallback already.
	if code, body := call(t, base, "POST", "/v1/overrides/drain", "", api.DrainRequest{Target: "web-us-east/192.0.2.10", Reason: "already down"}); code != 200 {
		t.Errorf("a drain that moves nothing healthy: %d %s", code, body)
	}
}

// A pin to a pool with nothing up, and a spec that leaves a record only
// drained pools, are refused the same way; a dry run of a spec apply
// shows its impact.
func TestGuardRefusesPinAndSpec(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{})
	base := "http://" + c.Leader().Node.APIAddr()
	if code, body := call(t, base, "POST", "/v1/overrides/drain", "", api.DrainRequest{Target: "us-east", Reason: "maintenance"}); code != 200 {
		t.Fatalf("drain: %d %s", code, body)
	}
	pin := api.PinRequest{Record: "www.example.test", Pool: "web-us-east", Reason: "back to east"}
	code, body := call(t, base, "POST", "/v1/overrides/pin", "", pin)
	if code != 409 || !strings.Contains(string(body), "would lose every healthy pool") {
		t.Fatalf("pin to a drained pool: %d %s, want 409", code, body)
	}
	pin.Guard = api.Guard{DryRun: true}
	code, body = call(t, base, "POST", "/v1/overrides/pin", "", pin)
	var imp api.Impact
	if err := json.Unmarshal(body, &imp); code != 200 || err != nil || !imp.Refused || imp.Records[0].After.Pool != "web-us-east" || imp.Records[0].After.Healthy {
		t.Fatalf("pin dry run: %d %s", code, body)
	}
	pin.Pool, pin.Guard = "web-eu-west", api.Guard{}
	if code, body := call(t, base, "POST", "/v1/overrides/pin", "", pin); code != 200 {
		t.Fatalf("pin to a healthy pool: %d %s", code, body)
	}
	if code, body := call(t, base, "POST", "/v1/overrides/release", "", api.PinRequest{Record: "www.example.test"}); code != 200 {
		t.Fatalf("release: %d %s", code, body)
	}

	// A spec whose www has only the drained pool.
	east := strings.Replace(c.Spec, "pools: [web-us-east, web-us-west, web-eu-west]", "pools: [web-us-east]", 1)
	if east == c.Spec {
		t.Fatal("the cluster's spec changed shape: fix the replacement")
	}
	code, body = call(t, base, "PUT", "/v1/spec", "", api.SpecRequest{YAML: east, Guard: api.Guard{DryRun: true}})
	if err := json.Unmarshal(body, &imp); code != 200 || err != nil || !imp.Refused || len(imp.Harmful) != 1 {
		t.Fatalf("spec dry run: %d %s", code, body)
	}
	code, body = call(t, base, "PUT", "/v1/spec", "", api.SpecRequest{YAML: east})
	if code != 409 || !strings.Contains(string(body), "www.example.test. A") {
		t.Fatalf("spec apply: %d %s, want 409", code, body)
	}
	version := c.Leader().Node.Store().FSM().View().SpecVersion()
	if version != 1 {
		t.Errorf("a refused spec was applied: version %d", version)
	}
	if n := eventCount(c, c.Leader(), "to pool web-us-east"); n != 0 {
		t.Errorf("%d pin events for refused pins", n)
	}
	if code, body := call(t, base, "PUT", "/v1/spec", "", api.SpecRequest{YAML: east, Guard: api.Guard{Force: true}}); code != 200 {
		t.Fatalf("forced spec apply: %d %s", code, body)
	}
	c.WaitAnswer(c.Leader(), testcluster.Fallback, 10*time.Second)
}
