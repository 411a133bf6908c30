package policy

import (
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/spec"
)

// geoSpec has three located datacenters (listed eu, us, ap), a nearest
// record and a geo record whose EU rule never leaves the EU.
func geoSpec(t *testing.T) *spec.Spec {
	t.Helper()
	s, err := spec.Parse([]byte(`
zones:
  - name: example.
    soa: {mname: ns1.example., rname: hostmaster.example.}
    nameservers: [ns1.example.]
    static: "ns1 IN A 127.0.0.1\n"
geoip: {database: /var/lib/detour/geo.mmdb}
datacenters:
  - {name: eu, location: {lat: 53.35, lon: -6.26}}
  - {name: us, location: {lat: 39.04, lon: -77.49}}
  - {name: ap, location: {lat: 1.35, lon: 103.82}}
checks: [{name: web, type: http, interval: 1s, timeout: 500ms}]
pools:
  - {name: pus, datacenter: us, check: web, endpoints: [{address: 192.0.2.1}, {address: 192.0.2.11}]}
  - {name: peu, datacenter: eu, check: web, endpoints: [{address: 192.0.2.2}]}
  - {name: pap, datacenter: ap, check: web, endpoints: [{address: 192.0.2.3}]}
records:
  - {name: near.example., type: A, policy: nearest, pools: [pus, pap, peu], fallback: [192.0.2.99]}
  - name: geo.example.
    type: A
    policy: geo
    fallback: [192.0.2.99]
    geo:
      - {match: [continent:EU], pools: [peu], on_all_down: fallback}
      - {match: [country:US], pools: [pus]}
      - {match: [continent:AS], pools: [pap], on_all_down: next}
      - {match: [default], pools: [pus, peu]}
  - {name: nodata.example., type: A, policy: geo, on_all_down: nodata, geo: [{match: [default], pools: [pap]}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// geoLines renders a decision's geo answers as "pool answers [pass]"
// lines, one per rule or pool.
func geoLines(d Decision) []string {
	var out []string
	for _, g := range d.Geo {
		l := strings.Join(g.Answers, ",")
		if len(g.Answers) > 0 {
			l = g.Pool + " " + l
		}
		if g.Fallback {
			l += " fallback"
		}
		if g.Pass {
			l += " pass"
		}
		out = append(out, strings.TrimSpace(l))
	}
	return out
}

func TestGeoPolicyTable(t *testing.T) {
	down := func(keys ...string) healthMap {
		m := healthMap{}
		for _, k := range keys {
			m[k] = hDown
		}
		return m
	}
	cases := []struct {
		name, record string
		health       healthMap
		pins         map[string]Pin
		pool         string // the record's own (default) answer
		answers      string
		geo          []string // per rule or pool
		reason       string
	}{
		{"nearest: all up, default in datacenter order", "near.example.", nil, nil,
			"peu", "192.0.2.2", []string{"pus 192.0.2.1,192.0.2.11", "pap 192.0.2.3", "peu 192.0.2.2"}, "clients not placed, datacenter order: first pool peu"},
		{"nearest: eu down passes, default moves to us", "near.example.", down("peu/192.0.2.2"), nil,
			"pus", "192.0.2.1,192.0.2.11", []string{"pus 192.0.2.1,192.0.2.11", "pap 192.0.2.3", "pass"}, "pool pus: earlier pools unhealthy"},
		{"nearest: one endpoint down is left out", "near.example.", down("pus/192.0.2.1"), nil,
			"peu", "192.0.2.2", []string{"pus 192.0.2.11", "pap 192.0.2.3", "peu 192.0.2.2"}, "first pool peu"},
		{"nearest: all down, fallback", "near.example.", down("pus/192.0.2.1", "pus/192.0.2.11", "peu/192.0.2.2", "pap/192.0.2.3"), nil,
			"", "192.0.2.99", []string{"pass", "pass", "pass"}, "answering the fallback"},
		{"geo: all up", "geo.example.", nil, nil,
			"pus", "192.0.2.1,192.0.2.11", []string{"peu 192.0.2.2", "pus 192.0.2.1,192.0.2.11", "pap 192.0.2.3", "pus 192.0.2.1,192.0.2.11"}, "default rule: first pool pus"},
		{"geo: eu down keeps EU on the fallback", "geo.example.", down("peu/192.0.2.2"), nil,
			"pus", "192.0.2.1,192.0.2.11", []string{"192.0.2.99 fallback", "pus 192.0.2.1,192.0.2.11", "pap 192.0.2.3", "pus 192.0.2.1,192.0.2.11"}, "default rule"},
		{"geo: ap down passes to the next rule", "geo.example.", down("pap/192.0.2.3"), nil,
			"pus", "192.0.2.1,192.0.2.11", []string{"peu 192.0.2.2", "pus 192.0.2.1,192.0.2.11", "pass", "pus 192.0.2.1,192.0.2.11"}, "default rule"},
		{"geo: us down, default fails over to eu; US rule passes", "geo.example.", down("pus/192.0.2.1", "pus/192.0.2.11"), nil,
			"peu", "192.0.2.2", []string{"peu 192.0.2.2", "pass", "pap 192.0.2.3", "peu 192.0.2.2"}, "default rule: pool peu: earlier pools unhealthy"},
		{"geo: default rule all down answers the record's fallback", "geo.example.", down("pus/192.0.2.1", "pus/192.0.2.11", "peu/192.0.2.2"), nil,
			"", "192.0.2.99", []string{"192.0.2.99 fallback", "pass", "pap 192.0.2.3", "192.0.2.99 fallback"}, "default rule: no healthy pool"},
		{"geo: nodata record", "nodata.example.", down("pap/192.0.2.3"), nil,
			"", "", []string{"fallback"}, "answering no data"},
		{"geo: a pin wins for every client", "geo.example.", down("peu/192.0.2.2"), map[string]Pin{"geo.example./A": {Pool: "pap", Author: "ops", Reason: "test"}},
			"pap", "192.0.2.3", nil, "pinned to pool pap by ops"},
		{"nearest: a pin wins for every client", "near.example.", nil, map[string]Pin{"near.example./A": {Pool: "pus", Author: "ops", Reason: "test"}},
			"pus", "192.0.2.1,192.0.2.11", nil, "pinned to pool pus"},
	}
	s := geoSpec(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := decisionOf(t, s, c.health, c.pins, c.record)
			if d.Pool != c.pool || strings.Join(d.Answers, ",") != c.answers {
				t.Errorf("default answer = %s %v, want %s %s", d.Pool, d.Answers, c.pool, c.answers)
			}
			if got := geoLines(d); strings.Join(got, "; ") != strings.Join(c.geo, "; ") {
				t.Errorf("geo answers:\n got %q\nwant %q", got, c.geo)
			}
			if !strings.Contains(d.Reason, c.reason) {
				t.Errorf("reason %q lacks %q", d.Reason, c.reason)
			}
			if (c.pins == nil) != (d.GeoPolicy != "") {
				t.Errorf("GeoPolicy = %q (pinned: %v)", d.GeoPolicy, c.pins != nil)
			}
		})
	}
}

// Where they are known, the geo answers carry where their pool is, and
// a change to a rule alone is a change of the record.
func TestGeoDecisionDetail(t *testing.T) {
	s := geoSpec(t)
	near := decisionOf(t, s, AllUp{}, nil, "near.example.")
	if g := near.Geo[0]; g.Datacenter != "us" || g.Location == nil || g.Location.Lat != 39.04 {
		t.Errorf("nearest's first pool = %+v, want us at 39.04", g)
	}
	if !strings.Contains(decisionOf(t, s, healthMap{"pap/192.0.2.3": hDown}, nil, "near.example.").Geo[1].Reason, "clients go to the next nearest") {
		t.Error("unhealthy nearest pool does not say where clients go")
	}
	a := decisionOf(t, s, AllUp{}, nil, "geo.example.")
	b := decisionOf(t, s, healthMap{"pap/192.0.2.3": hDown}, nil, "geo.example.")
	if a.SameAnswer(b) || a.SameRecords(b) {
		t.Error("a rule's answer changed but the decisions compare equal")
	}
	if !a.SameAnswer(a) || !a.SameRecords(a) {
		t.Error("a decision differs from itself")
	}
	if a.Geo[0].Match[0] != "continent:EU" || !strings.Contains(b.Geo[2].Reason, "on_all_down: next") {
		t.Errorf("rules: %+v", b.Geo)
	}
}
