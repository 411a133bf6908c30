package machine

import (
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// These tests pin down the consensus as it is today. Cases named
// "no-fresh" are those where no fresh observer has a verdict on the
// endpoint: today it counts as unknown, so up. Once an endpoint with no
// fresh observer keeps its last verdict instead, "every observer stale,
// down votes ignored" becomes down (its last verdict), while "no observer
// at all" and "fresh observers without a verdict on it" have no last
// verdict and stay unknown; testdata/script/stale_observers.txt shows
// the same step ("Every observer stale") on the state machine.

// observersOf builds observer records: fresh by ID, and each one's
// verdicts by pool/address (true: up).
func observersOf(fresh map[string]bool, verdicts map[string]map[string]bool) map[string]*ObserverRecord {
	out := map[string]*ObserverRecord{}
	for id, f := range fresh {
		o := &ObserverRecord{Fresh: f, Verdicts: map[string]*Verdict{}}
		for k, up := range verdicts[id] {
			v := &Verdict{Up: up}
			if !up {
				v.Reason = "refused"
			}
			o.Verdicts[k] = v
		}
		out[id] = o
	}
	return out
}

func TestNeededByQuorumRule(t *testing.T) {
	cases := []struct {
		quorum string
		n      int
		want   int
	}{
		{spec.QuorumMajority, 1, 1}, {spec.QuorumMajority, 2, 2}, {spec.QuorumMajority, 3, 2}, {spec.QuorumMajority, 4, 3}, {spec.QuorumMajority, 5, 3},
		{"", 3, 2},
		{spec.QuorumAny, 1, 1}, {spec.QuorumAny, 5, 1},
		{spec.QuorumAll, 1, 1}, {spec.QuorumAll, 3, 3}, {spec.QuorumAll, 5, 5},
		{"1", 3, 1}, {"2", 3, 2}, {"3", 3, 3},
		{"5", 3, 3}, // N above the fresh observers: all of them
		{"2", 1, 1},
	}
	for _, c := range cases {
		got := consensus{quorum: c.quorum}.needed(c.n)
		if got != c.want {
			t.Errorf("needed(quorum %q, %d fresh) = %d, want %d", c.quorum, c.n, got, c.want)
		}
	}
}

func TestConsensusQuorumFromSpec(t *testing.T) {
	st := NewState()
	if c := st.consensusFor(nil, nil); c.quorum != spec.QuorumMajority {
		t.Errorf("no spec: quorum %q, want majority", c.quorum)
	}
	if c := st.consensusFor(&spec.Spec{}, nil); c.quorum != spec.QuorumMajority {
		t.Errorf("spec without quorum: %q, want majority", c.quorum)
	}
	if c := st.consensusFor(&spec.Spec{Quorum: "2"}, nil); c.quorum != "2" {
		t.Errorf("spec quorum 2: %q", c.quorum)
	}
	st.Observers = observersOf(map[string]bool{"c": true, "a": true, "b": false, "d": true}, nil)
	c := st.consensusFor(nil, map[string]bool{"d": true})
	if strings.Join(c.fresh, ",") != "a,c" || c.observed != 4 {
		t.Errorf("fresh %v observed %d, want a,c (sorted, stale b and gone d left out) of 4", c.fresh, c.observed)
	}
}

func TestConsensusEndpointTable(t *testing.T) {
	const ep = "east/192.0.2.10"
	all3 := map[string]bool{"n1": true, "n2": true, "n3": true}
	cases := []struct {
		name     string
		quorum   string
		fresh    map[string]bool
		verdicts map[string]map[string]bool
		known    bool
		up       bool
		reason   string // substring
	}{
		{"majority: 2/3 down is down", spec.QuorumMajority, all3,
			map[string]map[string]bool{"n1": {ep: false}, "n2": {ep: false}, "n3": {ep: true}}, true, false, "2/3 observers: n1: refused; n2: refused"},
		{"majority: 1/3 down stays up and says so", spec.QuorumMajority, all3,
			map[string]map[string]bool{"n1": {ep: false}, "n2": {ep: true}, "n3": {ep: true}}, true, true, "up: only 1/3 observers see it down (n1: refused), 2 needed"},
		{"majority: all up", spec.QuorumMajority, all3,
			map[string]map[string]bool{"n1": {ep: true}, "n2": {ep: true}, "n3": {ep: true}}, true, true, ""},
		{"majority: a stale observer's down vote does not count", spec.QuorumMajority, map[string]bool{"n1": true, "n2": true, "n3": false},
			map[string]map[string]bool{"n1": {ep: false}, "n2": {ep: true}, "n3": {ep: false}}, true, true, "only 1/2 observers"},
		{"majority: two fresh both down", spec.QuorumMajority, map[string]bool{"n1": true, "n2": true, "n3": false},
			map[string]map[string]bool{"n1": {ep: false}, "n2": {ep: false}}, true, false, "2/2 observers"},
		{"majority: an observer without a verdict counts in n", spec.QuorumMajority, all3,
			map[string]map[string]bool{"n1": {ep: false}}, true, true, "only 1/3 observers see it down"},
		{"any: one down vote is enough", spec.QuorumAny, all3,
			map[string]map[string]bool{"n1": {ep: true}, "n2": {ep: false}, "n3": {ep: true}}, true, false, "1/3 observers: n2: refused"},
		{"any: none down", spec.QuorumAny, all3,
			map[string]map[string]bool{"n1": {ep: true}}, true, true, ""},
		{"all: 2/3 down is still up", spec.QuorumAll, all3,
			map[string]map[string]bool{"n1": {ep: false}, "n2": {ep: false}, "n3": {ep: true}}, true, true, "only 2/3 observers see it down (n1: refused; n2: refused), 3 needed"},
		{"all: 3/3 down", spec.QuorumAll, all3,
			map[string]map[string]bool{"n1": {ep: false}, "n2": {ep: false}, "n3": {ep: false}}, true, false, "3/3 observers"},
		{"all: counts only the fresh", spec.QuorumAll, map[string]bool{"n1": true, "n2": true, "n3": false},
			map[string]map[string]bool{"n1": {ep: false}, "n2": {ep: false}, "n3": {ep: true}}, true, false, "2/2 observers"},
		{"N=2: two down", "2", all3,
			map[string]map[string]bool{"n1": {ep: false}, "n3": {ep: false}}, true, false, "2/3 observers: n1: refused; n3: refused"},
		{"N=2: one down", "2", all3,
			map[string]map[string]bool{"n1": {ep: false}, "n3": {ep: true}}, true, true, "2 needed"},
		{"N=3 with one fresh: that one decides", "3", map[string]bool{"n1": true, "n2": false, "n3": false},
			map[string]map[string]bool{"n1": {ep: false}, "n2": {ep: true}, "n3": {ep: true}}, true, false, "1/1 observers"},
		// no-fresh: these change when an endpoint without a fresh observer keeps its last verdict.
		{"no-fresh: every observer stale, down votes ignored", spec.QuorumAny, map[string]bool{"n1": false, "n2": false},
			map[string]map[string]bool{"n1": {ep: false}, "n2": {ep: false}}, false, false, ""},
		{"no-fresh: no observer at all", spec.QuorumMajority, nil, nil, false, false, ""},
		{"no-fresh: fresh observers without a verdict on it", spec.QuorumMajority, all3,
			map[string]map[string]bool{"n1": {"east/192.0.2.11": false}}, false, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := NewState()
			st.Observers = observersOf(tc.fresh, tc.verdicts)
			c := st.consensusFor(&spec.Spec{Quorum: tc.quorum}, nil)
			h := c.Endpoint("east", "192.0.2.10")
			if h.Known != tc.known || h.Up != tc.up {
				t.Fatalf("Endpoint = %+v, want known %v up %v", h, tc.known, tc.up)
			}
			if tc.reason == "" && h.Reason != "" || !strings.Contains(h.Reason, tc.reason) {
				t.Errorf("reason %q, want %q", h.Reason, tc.reason)
			}
		})
	}
}

func TestConsensusIgnoresGoneObservers(t *testing.T) {
	const ep = "east/192.0.2.10"
	st := NewState()
	st.Observers = observersOf(map[string]bool{"n1": true, "n2": true}, map[string]map[string]bool{"n1": {ep: false}, "n2": {ep: true}})
	if h := st.consensusFor(&spec.Spec{Quorum: spec.QuorumAll}, nil).Endpoint("east", "192.0.2.10"); !h.Up {
		t.Fatalf("1/2 down under all: %+v, want up", h)
	}
	if h := st.consensusFor(&spec.Spec{Quorum: spec.QuorumAll}, map[string]bool{"n2": true}).Endpoint("east", "192.0.2.10"); h.Up {
		t.Fatalf("n2 gone, n1 down under all: %+v, want down", h)
	}
}

// TestDrainsAtEveryScope drains a datacenter, a pool and an endpoint and
// checks which endpoints count as down, over a consensus that sees them
// all up.
func TestDrainsAtEveryScope(t *testing.T) {
	s := policySpec()
	cases := []struct {
		name   string
		drains []*Override
		down   []string // pool/addr drained
		reason string
	}{
		{"no drain", nil, nil, ""},
		{"datacenter us-east drains every us-east pool", []*Override{{Kind: OverrideDrain, Target: "us-east", Author: "bob", Reason: "maintenance"}},
			[]string{"east/192.0.2.10", "east/192.0.2.11", "east6/2001:db8::10", "east6/2001:db8::11", "cn-east/east.example.net.", "cn-east/east2.example.net."},
			"drained us-east by bob: maintenance"},
		{"pool west", []*Override{{Kind: OverrideDrain, Target: "west", Reason: "deploy"}},
			[]string{"west/198.51.100.10", "west/198.51.100.11"}, "drained west by unknown: deploy"},
		{"endpoint eu/203.0.113.11", []*Override{{Kind: OverrideDrain, Target: "eu/203.0.113.11", Reason: "disk"}},
			[]string{"eu/203.0.113.11"}, "drained eu/203.0.113.11"},
		{"a pin is not a drain", []*Override{{Kind: OverridePin, Record: "fo.example.", Type: "A", Pool: "west", Reason: "r"}}, nil, ""},
		{"endpoint and pool: the endpoint drain is named first", []*Override{
			{Kind: OverrideDrain, Target: "east", Reason: "pool"}, {Kind: OverrideDrain, Target: "east/192.0.2.10", Reason: "endpoint"}},
			[]string{"east/192.0.2.10", "east/192.0.2.11"}, "drained east/192.0.2.10"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := NewState()
			for _, o := range tc.drains {
				st.Overrides[o.Key()] = o
			}
			h := st.drainsOver(AllUp{}, s)
			if len(tc.drains) == 0 {
				if _, ok := h.(AllUp); !ok {
					t.Fatalf("no drains: Health %T, want the inner one unwrapped", h)
				}
			}
			first := "" // the endpoint whose reason is checked
			if len(tc.down) > 0 {
				first = tc.down[0]
			}
			downs := map[string]bool{}
			for _, k := range tc.down {
				downs[k] = true
			}
			for _, p := range s.Pools {
				for _, e := range p.Endpoints {
					k := targetKey(p.Name, e.Address)
					got := h.Endpoint(p.Name, e.Address)
					if isDown(got) != downs[k] {
						t.Errorf("%s: %+v, want down %v", k, got, downs[k])
					}
					if k == first && !strings.Contains(got.Reason, tc.reason) {
						t.Errorf("%s: reason %q, want %q", k, got.Reason, tc.reason)
					}
				}
			}
		})
	}
}

// TestDrainsWithoutSpecMatchPoolsAndEndpoints: without a spec to map
// pools to datacenters, drains by pool and endpoint still hold.
func TestDrainsWithoutSpecMatchPoolsAndEndpoints(t *testing.T) {
	st := NewState()
	st.Overrides["drain:east"] = &Override{Kind: OverrideDrain, Target: "east", Reason: "r"}
	st.Overrides["drain:us-west"] = &Override{Kind: OverrideDrain, Target: "us-west", Reason: "r"}
	h := st.drainsOver(AllUp{}, nil)
	if !isDown(h.Endpoint("east", "192.0.2.10")) {
		t.Error("pool drain without a spec does not hold")
	}
	if isDown(h.Endpoint("west", "198.51.100.10")) {
		t.Error("a datacenter drain matched a pool without a spec saying where it is")
	}
}

// TestDrainsAndPinsUnderPolicy: a datacenter drain moves a
// failover record to the next datacenter and a pin beats the drain
// (pinned answers all of a pool with nothing up).
func TestDrainsAndPinsUnderPolicy(t *testing.T) {
	s := policySpec()
	st := NewState()
	st.Overrides["drain:us-east"] = &Override{Kind: OverrideDrain, Target: "us-east", Reason: "maint"}
	d := decisionOf(t, s, st.drainsOver(AllUp{}, s), st.pins(), "fo.example.")
	if d.Pool != "west" || !strings.Contains(d.Reason, "drained us-east") {
		t.Fatalf("fo under a us-east drain: %+v", d)
	}
	pin := &Override{Kind: OverridePin, Record: "fo.example.", Type: "A", Pool: "east", Reason: "keep east"}
	st.Overrides[pin.Key()] = pin
	d = decisionOf(t, s, st.drainsOver(AllUp{}, s), st.pins(), "fo.example.")
	if d.Pool != "east" || !strings.Contains(d.Reason, "no endpoint of the pool is up") {
		t.Fatalf("fo pinned to drained east: %+v", d)
	}
}

func TestDescribe(t *testing.T) {
	cases := []struct {
		d    Decision
		want string
	}{
		{Decision{Pool: "east", Answers: []string{"192.0.2.10", "192.0.2.11"}}, "192.0.2.10, 192.0.2.11 (pool east)"},
		{Decision{Fallback: true, Answers: []string{"192.0.2.99"}}, "192.0.2.99 (fallback)"},
		{Decision{Fallback: true}, "no data (fallback)"},
		{Decision{}, "no data"},
	}
	for _, c := range cases {
		if got := describe(c.d); got != c.want {
			t.Errorf("describe(%+v) = %q, want %q", c.d, got, c.want)
		}
	}
}

// TestDeriveLogsTransitions runs derive over a state built by hand:
// endpoint down and up events, record moves, and no events without log.
func TestDeriveLogsTransitions(t *testing.T) {
	st := NewState()
	st.derive(true)
	if st.health != nil || st.decisions != nil || len(st.Events) != 0 {
		t.Fatalf("derive without a spec: health %v decisions %v events %v", st.health, st.decisions, st.Events)
	}
	st.spec = policySpec()
	st.Now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st.derive(false)
	if len(st.Events) != 0 || len(st.Decisions()) != len(st.spec.Records) {
		t.Fatalf("derive(false): %d events, %d decisions", len(st.Events), len(st.Decisions()))
	}
	st.Observers = observersOf(map[string]bool{"n1": true}, map[string]map[string]bool{
		"n1": {"east/192.0.2.10": false, "east/192.0.2.11": false}})
	st.derive(true)
	msgs := eventMessages(st.Events)
	for _, want := range []string{
		"east/192.0.2.10 is down: 1/1 observers: n1: refused",
		"fo.example. A now answers 198.51.100.10, 198.51.100.11 (pool west) (was 192.0.2.10, 192.0.2.11 (pool east))",
		"ah.example. A now answers",
	} {
		if !strings.Contains(msgs, want) {
			t.Errorf("events lack %q:\n%s", want, msgs)
		}
	}
	if strings.Contains(msgs, "v6.example.") {
		t.Errorf("a record whose answer did not move was logged:\n%s", msgs)
	}
	st.Events = nil
	st.Observers["n1"].Verdicts["east/192.0.2.10"].Up = true
	st.derive(true)
	if msgs := eventMessages(st.Events); !strings.Contains(msgs, "east/192.0.2.10 is up again") || strings.Contains(msgs, "192.0.2.11 is up") {
		t.Errorf("after 192.0.2.10 came back:\n%s", msgs)
	}
	// A record that was not there before is logged as answering "was nothing".
	st.Events = nil
	st.decisions = st.decisions[1:]
	st.derive(true)
	if msgs := eventMessages(st.Events); !strings.Contains(msgs, "(was nothing)") {
		t.Errorf("a new record's first answer:\n%s", msgs)
	}
}

func eventMessages(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.Message + "\n")
	}
	return b.String()
}
