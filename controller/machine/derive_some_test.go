package machine

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// deriveSpec has records of every policy over pools some of them share,
// with fail-back holds, so that a report reaches several records.
const deriveSpec = `zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
  - name: other.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
geoip: {database: /nonexistent.mmdb}
datacenters:
  - {name: east, location: {lat: 40, lon: -75}}
  - {name: west, location: {lat: 37, lon: -122}}
  - {name: eu, location: {lat: 53, lon: -6}}
checks:
  - {name: web, type: tcp, port: 80}
pools:
  - {name: a, datacenter: east, check: web, endpoints: [{address: 192.0.2.1}, {address: 192.0.2.2}]}
  - {name: b, datacenter: west, check: web, endpoints: [{address: 192.0.2.3}]}
  - {name: c, datacenter: eu, check: web, min_healthy: 2, endpoints: [{address: 192.0.2.4}, {address: 192.0.2.5}, {address: 192.0.2.6}]}
  - {name: d, datacenter: east, check: web, endpoints: [{address: 192.0.2.7}]}
  - {name: e, datacenter: west, check: web, endpoints: [{address: 192.0.2.8}]}
records:
  - {name: www.example.test, type: A, pools: [a, b, c], fallback: [192.0.2.99], failback_after: 30s}
  - {name: api.example.test, type: A, pools: [b, a], failback: manual}
  - {name: w.example.test, type: A, policy: weighted, pools: [{pool: a, weight: 3}, {pool: c, weight: 1}]}
  - {name: all.example.test, type: A, policy: all-healthy, pools: [c, d], on_all_down: nodata}
  - {name: near.example.test, type: A, policy: nearest, pools: [a, b, c]}
  - name: geo.example.test
    type: A
    policy: geo
    fallback: [192.0.2.98]
    geo:
      - {match: [continent:EU], pools: [c], on_all_down: fallback}
      - {match: [default], pools: [d, e]}
  - {name: solo.other.test, type: A, pools: [e, d]}
  - {name: lone.other.test, type: A, pools: [d]}
`

var deriveEndpoints = []string{"a/192.0.2.1", "a/192.0.2.2", "b/192.0.2.3", "c/192.0.2.4", "c/192.0.2.5", "c/192.0.2.6", "d/192.0.2.7", "e/192.0.2.8", "zz/192.0.2.200"}

// A state that derives only what a report moved holds, after every
// command of a random history, what one that derives everything holds:
// the same snapshot (verdicts, last known verdicts, holds, events,
// serials) and the same decisions; so does one restored from a snapshot
// now and then on the way.
func TestDeriveSomeIsDeriveAll(t *testing.T) {
	for seed := range uint64(25) {
		rng := rand.New(rand.NewPCG(seed, 7))
		some, all := NewState(), NewState()
		all.fullDerive = true
		t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
		apply := func(step int, c *Command) {
			t.Helper()
			c.Time = t0.Add(time.Duration(step) * 5 * time.Second)
			for _, st := range []*State{some, all} {
				st.Index++
				cc := *c
				if _, err := st.apply(&cc); err != nil && step < 4 {
					t.Fatalf("seed %d step %d: %v", seed, step, err)
				}
			}
			a, _ := encodeSnapshot(some)
			b, _ := encodeSnapshot(all)
			if !bytes.Equal(a, b) {
				t.Fatalf("seed %d step %d (%s): the states differ:\n%s\n%s", seed, step, c.Type, a, b)
			}
			if x, y := describeDecisions(some), describeDecisions(all); x != y {
				t.Fatalf("seed %d step %d (%s): the decisions differ:\n%s\n%s", seed, step, c.Type, x, y)
			}
		}
		apply(0, &Command{Type: CmdSetSpec, Spec: &SetSpec{YAML: []byte(deriveSpec)}})
		for i, id := range []string{"n1", "n2", "n3"} {
			apply(1+i, &Command{Type: CmdRegisterMember, Member: &Member{ID: id}})
		}
		for step := 4; step < 120; step++ {
			apply(step, randomCommand(rng))
			if step%25 == 0 {
				// A replica restored from a snapshot goes on deriving
				// what reports move from the state it restored.
				data, err := encodeSnapshot(some)
				if err != nil {
					t.Fatal(err)
				}
				if some, err = DecodeSnapshot(bytes.NewReader(data)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// randomCommand is mostly reports of a few verdicts by a random
// observer, sometimes a liveness mark, a drain, a pin or an expiry.
func randomCommand(rng *rand.Rand) *Command {
	obs := fmt.Sprintf("n%d", 1+rng.IntN(3))
	switch n := rng.IntN(20); {
	case n == 0:
		return &Command{Type: CmdObserverLiveness, Liveness: &ObserverLiveness{Observer: obs, Fresh: rng.IntN(2) == 0, Reason: "test"}}
	case n == 1:
		return &Command{Type: CmdSetOverride, Override: &Override{Kind: OverrideDrain, Target: []string{"east", "b", "c/192.0.2.4"}[rng.IntN(3)], Reason: "test", For: "40s"}}
	case n == 2:
		return &Command{Type: CmdSetOverride, Override: &Override{Kind: OverridePin, Record: "www.example.test", Type: "A", Pool: "b", Reason: "test", For: "30s"}}
	case n == 3:
		return &Command{Type: CmdExpireOverrides}
	}
	r := &ObserverReport{Observer: obs}
	for range 1 + rng.IntN(3) {
		pool, addr := splitTargetKey(deriveEndpoints[rng.IntN(len(deriveEndpoints))])
		ch := VerdictChange{Pool: pool, Address: addr, Up: rng.IntN(2) == 0, Reason: []string{"refused", "timeout"}[rng.IntN(2)]}
		ch.Forget = rng.IntN(15) == 0
		r.Changes = append(r.Changes, ch)
	}
	return &Command{Type: CmdObserverReport, Report: r}
}

func describeDecisions(st *State) string {
	var b strings.Builder
	for _, d := range st.decisions {
		fmt.Fprintf(&b, "%s %s %s %v %v | %s\n", d.Name, d.Type, d.Pool, d.Answers, d.Fallback, d.Reason)
	}
	return b.String()
}
