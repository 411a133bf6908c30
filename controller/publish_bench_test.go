package controller

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// manyRecordsSpec is a spec of n health-driven records over two pools.
func manyRecordsSpec(n int) string {
	var b strings.Builder
	b.WriteString(`zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: |
      ns1 IN A 127.0.0.1
datacenters: [{name: us-east}, {name: us-west}]
checks:
  - {name: web, type: http, interval: 1s, timeout: 500ms}
pools:
  - {name: pa, datacenter: us-east, check: web, endpoints: [{address: 192.0.2.1}]}
  - {name: pb, datacenter: us-west, check: web, endpoints: [{address: 192.0.2.2}]}
records:
`)
	for i := range n {
		fmt.Fprintf(&b, "  - {name: r%d.example.test, type: A, pools: [pa, pb], fallback: [192.0.2.99]}\n", i)
	}
	return b.String()
}

// BenchmarkApplyMovingReport is the time Apply holds the FSM for an
// observer report that moves every record's answer, in a spec of 10,000 (the limit)
// health-driven records: the state machine's work (consensus, decisions,
// serials) and, before the publisher, the DNS answers' build.
//
//	go test -run '^$' -bench BenchmarkApplyMovingReport -benchtime 50x ./controller
func BenchmarkApplyMovingReport(b *testing.B) {
	f := NewFSM(slog.New(slog.DiscardHandler))
	if c, ok := any(f).(interface{ Close() }); ok {
		defer c.Close()
	}
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	index := uint64(0)
	apply := func(c *Command) {
		index++
		c.Time = t0.Add(time.Duration(index) * time.Millisecond)
		data, err := c.Encode()
		if err != nil {
			b.Fatal(err)
		}
		if err, ok := f.Apply(&raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: data}).(error); ok {
			b.Fatal(err)
		}
	}
	apply(&Command{Type: CmdSetSpec, Spec: &SetSpec{YAML: []byte(manyRecordsSpec(10_000))}})
	if sg := f.View().Staged(); sg != nil {
		for j, wait := f.compileDone(sg.Index); j == nil; j, wait = f.compileDone(sg.Index) {
			<-wait
		}
		apply(&Command{Type: CmdActivateSpec, Activate: &ActivateSpec{Index: sg.Index}})
	}
	up := false
	b.ResetTimer()
	for b.Loop() {
		apply(&Command{Type: CmdObserverReport, Report: &ObserverReport{Observer: "n1",
			Changes: []VerdictChange{{Pool: "pa", Address: "192.0.2.1", Up: up}}}})
		up = !up
	}
}
