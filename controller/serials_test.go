package controller

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// serialSpec has two zones, one health-driven record in each; static is
// example.test's static text, port the check's.
func serialSpec(static string, port int) string {
	return fmt.Sprintf(`zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: |
      %s
  - name: other.test
    soa: {mname: ns1.other.test., rname: hostmaster.other.test.}
    nameservers: [ns1.other.test.]
datacenters: [{name: east}, {name: west}]
checks:
  - {name: web, type: tcp, port: %d}
pools:
  - {name: a, datacenter: east, check: web, endpoints: [{address: 192.0.2.1}]}
  - {name: b, datacenter: west, check: web, endpoints: [{address: 192.0.2.2}]}
  - {name: c, datacenter: west, check: web, endpoints: [{address: 198.51.100.1}, {address: 198.51.100.2}]}
records:
  - {name: www.example.test, type: A, pools: [a, b]}
  - {name: www.other.test, type: A, pools: [c]}
`, static, port)
}

// serialRig is an FSM fed commands as Raft would, one second apart.
type serialRig struct {
	t   *testing.T
	f   *FSM
	idx uint64
	now time.Time
}

func newSerialRig(t *testing.T) *serialRig {
	return &serialRig{t: t, f: testFSM(t), now: time.Date(2026, 12, 1, 15, 4, 0, 0, time.UTC)}
}

// apply applies c at the next index, one second after the last.
func (r *serialRig) apply(c *Command) {
	r.t.Helper()
	r.idx++
	r.now = r.now.Add(time.Second)
	c.Time = r.now
	b, err := c.Encode()
	if err != nil {
		r.t.Fatal(err)
	}
	if err, ok := r.f.Apply(&raft.Log{Index: r.idx, Term: 1, Type: raft.LogCommand, Data: b}).(error); ok && err != nil {
		r.t.Fatalf("apply %s: %v", c.Type, err)
	}
}

// spec stages and activates yaml.
func (r *serialRig) spec(yaml string) {
	r.t.Helper()
	r.apply(&Command{Type: CmdSetSpec, Spec: &SetSpec{YAML: []byte(yaml)}})
	r.apply(&Command{Type: CmdActivateSpec, Activate: &ActivateSpec{Index: r.idx}})
}

// report is observer n1's verdicts: pool/address up or down.
func (r *serialRig) report(verdicts map[string]bool) {
	r.t.Helper()
	rep := &ObserverReport{Observer: "n1"}
	for k, up := range verdicts {
		pool, addr, _ := strings.Cut(k, "/")
		rep.Changes = append(rep.Changes, VerdictChange{Pool: pool, Address: addr, Up: up, Latency: float64(r.idx)})
	}
	r.apply(&Command{Type: CmdObserverReport, Report: rep})
}

// serials returns the replicated serials, checking that the DNS answers
// serve them.
func (r *serialRig) serials() map[string]uint32 {
	r.t.Helper()
	caughtUp(r.t, r.f)
	got := r.f.View().Serials()
	for _, zone := range []string{"example.test.", "other.test."} {
		if served := r.f.Answers().Serial(zone); served != got[zone] {
			r.t.Fatalf("%s: the DNS answers serve serial %d, the state says %d", zone, served, got[zone])
		}
	}
	return got
}

// snapshot encodes the FSM's state as Raft would persist it.
func (r *serialRig) snapshot() []byte {
	r.t.Helper()
	snap, err := r.f.Snapshot()
	if err != nil {
		r.t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		r.t.Fatal(err)
	}
	return sink.buf.Bytes()
}

// restore makes a replica of the rig from a snapshot.
func (r *serialRig) restore(data []byte) *serialRig {
	r.t.Helper()
	c := &serialRig{t: r.t, f: testFSM(r.t), idx: r.idx, now: r.now}
	if err := c.f.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
		r.t.Fatal(err)
	}
	return c
}

func TestSerialsFollowAnswersAndZones(t *testing.T) {
	r := newSerialRig(t)
	r.spec(serialSpec(`txt 300 IN TXT "v1"`, 80))
	first := r.serials()
	if want := uint32(r.now.Unix()); first["example.test."] != want || first["other.test."] != want {
		t.Fatalf("first serials %v, want the clock %d for both zones", first, want)
	}
	steps := []struct {
		name string
		do   func()
		// rises names the zones whose serial must rise; the others
		// must keep theirs.
		rises []string
	}{
		{"every endpoint reported up: answers unchanged", func() {
			r.report(map[string]bool{"a/192.0.2.1": true, "b/192.0.2.2": true, "c/198.51.100.1": true, "c/198.51.100.2": true})
		}, nil},
		{"a goes down: www.example.test moves to b", func() { r.report(map[string]bool{"a/192.0.2.1": false}) }, []string{"example.test."}},
		{"the same report again, later", func() { r.report(map[string]bool{"a/192.0.2.1": false}) }, nil},
		{"one endpoint of c goes down", func() { r.report(map[string]bool{"c/198.51.100.2": false}) }, []string{"other.test."}},
		{"a spec change outside the zones", func() { r.spec(serialSpec(`txt 300 IN TXT "v1"`, 81)) }, nil},
		{"a spec change of example.test's static text", func() { r.spec(serialSpec(`txt 300 IN TXT "v2"`, 81)) }, []string{"example.test."}},
		{"a drain of b: www.example.test fails open", func() {
			r.apply(&Command{Type: CmdSetOverride, Override: &Override{Kind: OverrideDrain, Target: "b", Reason: "test"}})
		}, []string{"example.test."}},
		{"an override that moves nothing", func() {
			r.apply(&Command{Type: CmdSetOverride, Override: &Override{Kind: OverrideDrain, Target: "c/198.51.100.2", Reason: "already down"}})
		}, nil},
		{"a comes back, c too", func() {
			r.report(map[string]bool{"a/192.0.2.1": true, "c/198.51.100.2": true})
		}, nil}, // www.example.test served a's address failing open, and serves it healthy; c/198.51.100.2 is drained
		{"a goes down again: a and b down, b drained, fail open to a", func() {
			r.report(map[string]bool{"a/192.0.2.1": false})
		}, nil},
		{"b undrained: www.example.test moves to b", func() {
			r.apply(&Command{Type: CmdClearOverride, Clear: &ClearOverride{Kind: OverrideDrain, Target: "b"}})
		}, []string{"example.test."}},
	}
	prev := first
	for _, s := range steps {
		s.do()
		got := r.serials()
		for zone, serial := range got {
			rises := false
			for _, z := range s.rises {
				rises = rises || z == zone
			}
			switch {
			case rises && serial != uint32(r.now.Unix()):
				t.Errorf("%s: %s serial %d, want the clock %d (was %d)", s.name, zone, serial, r.now.Unix(), prev[zone])
			case !rises && serial != prev[zone]:
				t.Errorf("%s: %s serial moved from %d to %d", s.name, zone, prev[zone], serial)
			}
		}
		prev = got
	}
}

func TestSerialsAgreeAcrossReplicas(t *testing.T) {
	a, b := newSerialRig(t), newSerialRig(t)
	var mid []byte
	var c *serialRig
	script := []func(r *serialRig){
		func(r *serialRig) { r.spec(serialSpec(`txt 300 IN TXT "v1"`, 80)) },
		func(r *serialRig) { r.report(map[string]bool{"a/192.0.2.1": false, "c/198.51.100.1": true}) },
		func(r *serialRig) { r.spec(serialSpec(`txt 300 IN TXT "v2"`, 80)) },
		func(r *serialRig) { r.report(map[string]bool{"a/192.0.2.1": true, "c/198.51.100.1": false}) },
		func(r *serialRig) { r.report(map[string]bool{"c/198.51.100.2": false}) },
	}
	for i, step := range script {
		step(a)
		step(b)
		if c != nil {
			step(c)
		}
		if i == 1 {
			mid = a.snapshot()
			c = a.restore(mid)
		}
		sa, sb := a.serials(), b.serials()
		if !maps.Equal(sa, sb) {
			t.Fatalf("step %d: replicas disagree: %v and %v", i, sa, sb)
		}
		if c != nil && !maps.Equal(sa, c.serials()) {
			t.Fatalf("step %d: a replica restored from a snapshot disagrees: %v and %v", i, sa, c.serials())
		}
	}
}

// TestSerialsFromAnOlderSnapshot restores a snapshot of a version that
// numbered serials from hashes of the DNS content: the serials go on
// from the stored ones, never back, even when they are ahead of the
// clock.
func TestSerialsFromAnOlderSnapshot(t *testing.T) {
	r := newSerialRig(t)
	r.spec(serialSpec(`txt 300 IN TXT "v1"`, 80))
	data := string(r.snapshot())
	i := strings.Index(data, `"versions":{`)
	if i < 0 {
		t.Fatalf("no versions in the snapshot: %.300s", data)
	}
	end := i + strings.Index(data[i:], "}}") + 2
	const ahead = 2_000_000_000 // past the clock: the rise is by one
	old := fmt.Sprintf(`"versions":{"example.test.":{"serial":%d,"hash":12345},"other.test.":{"serial":1700000000,"hash":678}}`, uint32(ahead))
	c := r.restore([]byte(data[:i] + old + data[end:]))
	got := c.serials()
	if got["example.test."] != ahead || got["other.test."] != 1700000000 {
		t.Fatalf("restored serials %v, want the stored ones", got)
	}
	c.report(map[string]bool{"a/192.0.2.1": false})
	got = c.serials()
	if got["example.test."] != ahead+1 || got["other.test."] != 1700000000 {
		t.Fatalf("after an answer change: %v, want example.test. at %d and other.test. kept", got, ahead+1)
	}
	c.spec(serialSpec(`txt 300 IN TXT "v1"`, 80)) // the same spec again: no zone changed
	if again := c.serials(); !maps.Equal(again, got) {
		t.Fatalf("the same spec applied again moved serials: %v, was %v", again, got)
	}
}
