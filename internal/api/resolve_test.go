package api_test

import (
	"encoding/json"
	"testing"

	"github.com/seed3787e6f1/detour/internal/api"
)

// TestTargetAndRecordErrors checks the API's refusals of drain targets
// and records the spec does not resolve (spec.ResolveTarget and
// spec.FindRecord), word for word, and that nothing was committed.
func TestTargetAndRecordErrors(t *testing.T) {
	_, base := startNode(t, specText(t), nil)
	cases := []struct {
		name, path string
		body       any
		code       int
		want       string
	}{
		{"an endpoint the pool lacks", "/v1/overrides/drain", api.DrainRequest{Target: "web-us-east/10.9.9.9", Reason: "x"}, 404,
			"pool web-us-east has no endpoint 10.9.9.9 (endpoints: 192.0.2.10)"},
		{"an unknown name", "/v1/overrides/drain", api.DrainRequest{Target: "us-north", Reason: "x"}, 404,
			`"us-north" is not a datacenter, pool or pool/address (datacenters: us-east, us-west, eu-west; pools: web-us-east, web-us-west, web-eu-west)`},
		{"an endpoint of an unknown pool", "/v1/overrides/drain", api.DrainRequest{Target: "web-mars/192.0.2.10", Reason: "x"}, 404,
			`"web-mars/192.0.2.10" is not a datacenter, pool or pool/address (datacenters: us-east, us-west, eu-west; pools: web-us-east, web-us-west, web-eu-west)`},
		{"an unknown record", "/v1/overrides/pin", api.PinRequest{Record: "Nope.Example.Test", Pool: "web-us-west", Reason: "x"}, 404,
			"no health-driven record nope.example.test.  (records: www.example.test. A)"},
		{"a record of another type", "/v1/overrides/release", api.PinRequest{Record: "www.example.test", Type: "AAAA"}, 404,
			"no health-driven record www.example.test. AAAA (records: www.example.test. A)"},
	}
	before := snapshot(t, base)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := call(t, base, "POST", c.path, "", c.body)
			var e api.Error
			if err := json.Unmarshal(body, &e); err != nil || code != c.code || e.Error != c.want {
				t.Fatalf("%d %s, want %d %q", code, body, c.code, c.want)
			}
		})
	}
	if after := snapshot(t, base); after != before {
		t.Errorf("a refused request changed the state:\nbefore %s\nafter  %s", before, after)
	}
}
