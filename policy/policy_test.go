package policy

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/internal/testutil/fixture"
	"github.com/seed3787e6f1/detour/spec"
)

// healthMap is a Health read from a table: pool/address to what is known.
// Endpoints absent from it are unknown (so up).
type healthMap map[string]EndpointHealth

func (m healthMap) Endpoint(pool, addr string) EndpointHealth { return m[pool+"/"+addr] }

var (
	hUp   = EndpointHealth{Known: true, Up: true}
	hDown = EndpointHealth{Known: true, Up: false, Reason: "refused"}
	// hDownBare is down with no reason given.
	hDownBare = EndpointHealth{Known: true, Up: false}
)

// policySpec is the decision core's shared table spec (fixture.PolicySpec).
func policySpec() *spec.Spec { return fixture.PolicySpec() }

// decisionOf evaluates s under h and pins and returns the decision for
// record name.
func decisionOf(t *testing.T, s *spec.Spec, h Health, pins map[string]Pin, name string) Decision {
	t.Helper()
	for _, d := range EvaluatePinned(s, h, pins) {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no decision for %s", name)
	return Decision{}
}

// groupLines renders a decision's groups as "weight | answer | answer"
// lines.
func groupLines(d Decision) []string {
	var out []string
	for _, g := range d.Groups {
		out = append(out, strings.Join(append([]string{strconv.Itoa(int(g.Weight))}, g.Answers...), " | "))
	}
	return out
}

func TestPolicyTable(t *testing.T) {
	type want struct {
		pool     string
		answers  []string
		fallback bool
		reason   []string // substrings the reason must hold
		groups   []string // when set, the answer groups exactly
	}
	cases := []struct {
		name   string
		record string
		health healthMap
		pins   map[string]Pin
		want   want
	}{
		// failover
		{"failover: nothing known, first pool counted up", "fo.example.", nil, nil, want{
			pool: "east", answers: []string{"192.0.2.10", "192.0.2.11"},
			reason: []string{"first pool east: 2/2 endpoints not checked yet, counted as up"},
			groups: []string{"1 | 192.0.2.10 | 192.0.2.11"}}},
		{"failover: first pool healthy and checked", "fo.example.", healthMap{"east/192.0.2.10": hUp, "east/192.0.2.11": hUp}, nil, want{
			pool: "east", answers: []string{"192.0.2.10", "192.0.2.11"}, reason: []string{"first pool east is healthy (2/2 up)"}}},
		{"failover: one endpoint of the first pool down is left out", "fo.example.", healthMap{"east/192.0.2.10": hDown, "east/192.0.2.11": hUp}, nil, want{
			pool: "east", answers: []string{"192.0.2.11"}, reason: []string{"first pool east is healthy (1/2 up)"}}},
		{"failover: first pool down moves to the second", "fo.example.", healthMap{"east/192.0.2.10": hDown, "east/192.0.2.11": hDownBare}, nil, want{
			pool: "west", answers: []string{"198.51.100.10", "198.51.100.11"},
			reason: []string{"pool west: earlier pools unhealthy", "unhealthy: east 0/2 up: down 192.0.2.10 (refused), 192.0.2.11"}}},
		{"failover: min_healthy 2 makes eu with one down unhealthy", "fo.example.", healthMap{
			"east/192.0.2.10": hDown, "east/192.0.2.11": hDown, "west/198.51.100.10": hDown, "west/198.51.100.11": hDown,
			"eu/203.0.113.10": hDown, "eu/203.0.113.11": hUp}, nil, want{
			pool: "east", fallback: true,
			answers: []string{"192.0.2.10", "192.0.2.11"},
			reason:  []string{"no healthy pool (", "eu 1/2 up, needs 2: down 203.0.113.10 (refused)", "failing open, answering as if all were up (on_all_down: all)"}}},
		{"failover: default policy and on_all_down fail open to the first pool", "def.example.", healthMap{
			"east/192.0.2.10": hDown, "east/192.0.2.11": hDown, "west/198.51.100.10": hDown, "west/198.51.100.11": hDown}, nil, want{
			pool: "east", fallback: true, answers: []string{"192.0.2.10", "192.0.2.11"},
			reason: []string{"failing open"}}},
		{"failover: all down answers the fallback", "fb.example.", healthMap{
			"east/192.0.2.10": hDown, "east/192.0.2.11": hDown, "west/198.51.100.10": hDown, "west/198.51.100.11": hDown}, nil, want{
			fallback: true, answers: []string{"192.0.2.99"}, reason: []string{"answering the fallback"},
			groups: []string{"1 | 192.0.2.99"}}},
		{"failover: all down answers no data", "nd.example.", healthMap{
			"east/192.0.2.10": hDown, "east/192.0.2.11": hDown, "west/198.51.100.10": hDown, "west/198.51.100.11": hDown}, nil, want{
			fallback: true, answers: nil, reason: []string{"answering no data (on_all_down: nodata)"}}},
		// weighted
		{"weighted: both weighted pools healthy, weight 0 left out", "w.example.", nil, nil, want{
			pool: "east,west", answers: []string{"192.0.2.10", "192.0.2.11", "198.51.100.10", "198.51.100.11"},
			reason: []string{"weighted over healthy pools: east (weight 3), west (weight 1)"},
			groups: []string{"3 | 192.0.2.10 | 192.0.2.11", "1 | 198.51.100.10 | 198.51.100.11"}}},
		{"weighted: an unhealthy pool drops out", "w.example.", healthMap{"east/192.0.2.10": hDown, "east/192.0.2.11": hDown}, nil, want{
			pool: "west", answers: []string{"198.51.100.10", "198.51.100.11"},
			reason: []string{"weighted over healthy pools: west (weight 1)", "unhealthy: east 0/2 up"}}},
		{"weighted: only the weight-0 pool healthy fails open", "w.example.", healthMap{
			"east/192.0.2.10": hDown, "east/192.0.2.11": hDown, "west/198.51.100.10": hDown, "west/198.51.100.11": hDown}, nil, want{
			pool: "east,west", fallback: true, answers: []string{"192.0.2.10", "192.0.2.11", "198.51.100.10", "198.51.100.11"},
			reason: []string{"no healthy pool", "failing open"}}},
		{"weighted CNAME: one target per pool", "wcn.example.", nil, nil, want{
			pool: "cn-east,cn-west", answers: []string{"east.example.net.", "west.example.net."},
			groups: []string{"2 | east.example.net.", "1 | west.example.net."}}},
		{"weighted CNAME: all down answers no data", "wcn.example.", healthMap{
			"cn-east/east.example.net.": hDown, "cn-east/east2.example.net.": hDown, "cn-west/west.example.net.": hDown}, nil, want{
			fallback: true, reason: []string{"nodata"}}},
		// all-healthy
		{"all-healthy: every healthy endpoint of every healthy pool", "ah.example.", healthMap{"east/192.0.2.11": hDown}, nil, want{
			pool: "east,west,eu", answers: []string{"192.0.2.10", "198.51.100.10", "198.51.100.11", "203.0.113.10", "203.0.113.11"},
			reason: []string{"every healthy endpoint of east, west, eu"}}},
		{"all-healthy: an unhealthy pool is named", "ah.example.", healthMap{"eu/203.0.113.11": hDown}, nil, want{
			pool: "east,west", answers: []string{"192.0.2.10", "192.0.2.11", "198.51.100.10", "198.51.100.11"},
			reason: []string{"every healthy endpoint of east, west", "unhealthy: eu 1/2 up, needs 2"}}},
		{"all-healthy: nothing healthy answers no data", "ah.example.", healthMap{
			"east/192.0.2.10": hDown, "east/192.0.2.11": hDown, "west/198.51.100.10": hDown, "west/198.51.100.11": hDown, "eu/203.0.113.10": hDown}, nil, want{
			fallback: true, reason: []string{"no healthy pool", "nodata"}}},
		// AAAA
		{"AAAA: failover serves IPv6 records", "v6.example.", healthMap{"east6/2001:db8::10": hDown}, nil, want{
			pool: "east6", answers: []string{"2001:db8::11"},
			groups: []string{"1 | 2001:db8::11"}}},
		{"AAAA: all down answers the IPv6 fallback", "v6.example.", healthMap{
			"east6/2001:db8::10": hDown, "east6/2001:db8::11": hDown, "west6/2001:db8:1::10": hDown}, nil, want{
			fallback: true, answers: []string{"2001:db8::99"}, groups: []string{"1 | 2001:db8::99"}}},
		// CNAME
		{"CNAME: failover answers one target", "cn.example.", nil, nil, want{
			pool: "cn-east", answers: []string{"east.example.net."},
			groups: []string{"1 | east.example.net."}}},
		{"CNAME: second pool when the first is down", "cn.example.", healthMap{
			"cn-east/east.example.net.": hDown, "cn-east/east2.example.net.": hDown}, nil, want{
			pool: "cn-west", answers: []string{"west.example.net."}}},
		// pins
		{"pin: answers the pinned pool whatever the health", "fo.example.", nil,
			map[string]Pin{"fo.example./A": {Pool: "west", Author: "alice", Reason: "migration"}}, want{
				pool: "west", answers: []string{"198.51.100.10", "198.51.100.11"},
				reason: []string{"pinned to pool west by alice: migration"}}},
		{"pin: only the pinned pool's healthy endpoints", "fo.example.", healthMap{"west/198.51.100.10": hDown},
			map[string]Pin{"fo.example./A": {Pool: "west", Reason: "r"}}, want{
				pool: "west", answers: []string{"198.51.100.11"}, reason: []string{"pinned to pool west by unknown: r"}}},
		{"pin: a pinned pool with nothing up answers all of it", "fo.example.", healthMap{"west/198.51.100.10": hDown, "west/198.51.100.11": hDown},
			map[string]Pin{"fo.example./A": {Pool: "west", Reason: "r"}}, want{
				pool: "west", answers: []string{"198.51.100.10", "198.51.100.11"},
				reason: []string{"no endpoint of the pool is up, answering all of them"}}},
		{"pin: CNAME pin answers one target", "cn.example.", nil,
			map[string]Pin{"cn.example./CNAME": {Pool: "cn-east", Reason: "r"}}, want{
				pool: "cn-east", answers: []string{"east.example.net."}}},
		{"pin: to a pool the spec no longer has is ignored", "fo.example.", healthMap{"east/192.0.2.10": hUp, "east/192.0.2.11": hUp},
			map[string]Pin{"fo.example./A": {Pool: "gone", Reason: "r"}}, want{
				pool: "east", answers: []string{"192.0.2.10", "192.0.2.11"}, reason: []string{"first pool east is healthy"}}},
	}
	s := policySpec()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var h Health = AllUp{}
			if tc.health != nil {
				h = tc.health
			}
			d := decisionOf(t, s, h, tc.pins, tc.record)
			if d.Pool != tc.want.pool || d.Fallback != tc.want.fallback || !slices.Equal(d.Answers, tc.want.answers) {
				t.Errorf("got pool %q fallback %v answers %q, want pool %q fallback %v answers %q (reason: %s)",
					d.Pool, d.Fallback, d.Answers, tc.want.pool, tc.want.fallback, tc.want.answers, d.Reason)
			}
			for _, sub := range tc.want.reason {
				if !strings.Contains(d.Reason, sub) {
					t.Errorf("reason %q lacks %q", d.Reason, sub)
				}
			}
			// Every row: the groups serve exactly the answers, with the
			// record's TTL.
			var flat []string
			for _, g := range d.Groups {
				flat = append(flat, g.Answers...)
			}
			if !slices.Equal(flat, d.Answers) {
				t.Errorf("groups %q do not serve the answers %q", groupLines(d), d.Answers)
			}
			if want := recordTTL(s, d.Name); d.TTL != want {
				t.Errorf("TTL = %d, want %d", d.TTL, want)
			}
			if tc.want.groups != nil {
				if got := groupLines(d); !slices.Equal(got, tc.want.groups) {
					t.Errorf("groups:\n got %q\nwant %q", got, tc.want.groups)
				}
			}
		})
	}
}

func TestSameAnswer(t *testing.T) {
	a := Decision{Pool: "east", Answers: []string{"192.0.2.10"}, Reason: "x"}
	cases := []struct {
		b    Decision
		same bool
	}{
		{Decision{Pool: "east", Answers: []string{"192.0.2.10"}, Reason: "another reason"}, true},
		{Decision{Pool: "west", Answers: []string{"192.0.2.10"}}, false},
		{Decision{Pool: "east", Answers: []string{"192.0.2.11"}}, false},
		{Decision{Pool: "east", Answers: []string{"192.0.2.10"}, Fallback: true}, false},
	}
	for i, c := range cases {
		if got := a.SameAnswer(c.b); got != c.same {
			t.Errorf("case %d: SameAnswer = %v, want %v", i, got, c.same)
		}
	}
}

func recordTTL(s *spec.Spec, name string) uint32 {
	for _, r := range s.Records {
		if r.Name == name {
			return r.TTL
		}
	}
	return 0
}

func TestSameRecords(t *testing.T) {
	a := Decision{TTL: 30, Pool: "east", Groups: []AnswerGroup{{Weight: 3, Answers: []string{"192.0.2.10"}}, {Weight: 1, Answers: []string{"198.51.100.10"}}}}
	cases := []struct {
		name string
		b    Decision
		same bool
	}{
		{"same groups, other pool and reason", Decision{TTL: 30, Pool: "west", Reason: "x", Groups: []AnswerGroup{{Weight: 3, Answers: []string{"192.0.2.10"}}, {Weight: 1, Answers: []string{"198.51.100.10"}}}}, true},
		{"another weight", Decision{TTL: 30, Groups: []AnswerGroup{{Weight: 2, Answers: []string{"192.0.2.10"}}, {Weight: 1, Answers: []string{"198.51.100.10"}}}}, false},
		{"another address", Decision{TTL: 30, Groups: []AnswerGroup{{Weight: 3, Answers: []string{"192.0.2.11"}}, {Weight: 1, Answers: []string{"198.51.100.10"}}}}, false},
		{"a group fewer", Decision{TTL: 30, Groups: []AnswerGroup{{Weight: 3, Answers: []string{"192.0.2.10"}}}}, false},
		{"another TTL", Decision{TTL: 60, Groups: a.Groups}, false},
		{"no data", Decision{TTL: 30}, false},
	}
	for _, c := range cases {
		if got := a.SameRecords(c.b); got != c.same {
			t.Errorf("%s: SameRecords = %v, want %v", c.name, got, c.same)
		}
	}
}

func TestEvaluateIsUnpinned(t *testing.T) {
	s := policySpec()
	got, want := Evaluate(s, AllUp{}), EvaluatePinned(s, AllUp{}, nil)
	if len(got) != len(s.Records) || !slices.EqualFunc(got, want, func(a, b Decision) bool { return a.SameAnswer(b) && a.SameRecords(b) }) {
		t.Fatalf("Evaluate = %v, want %v (one per record)", got, want)
	}
}
