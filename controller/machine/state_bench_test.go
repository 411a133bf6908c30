package machine

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

// BenchmarkStateMachine is the state machine alone (no Raft, no probes,
// no DNS) holding N failover records (DETOUR_BENCH_RECORDS, 10,000 by
// default), each with a pool of one endpoint in each of three
// datacenters, and three observers' verdicts on all 3N endpoints: the
// CPU each step costs on the apply and snapshot paths, whatever else
// the machine runs.
//
//	go test -run '^$' -bench StateMachine -benchtime 5x ./controller/machine
func BenchmarkStateMachine(b *testing.B) {
	records := 10_000
	if v := os.Getenv("DETOUR_BENCH_RECORDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		records = n
	}
	texts := [2][]byte{[]byte(testutil.StateSpec(records, 30, benchDCs)), []byte(testutil.StateSpec(records, 31, benchDCs))}
	var specs [2]*spec.Spec
	for i, t := range texts {
		s, err := spec.Parse(t)
		if err != nil {
			b.Fatal(err)
		}
		specs[i] = s
	}
	compile := func(sg *StagedSpec) (*spec.Spec, []byte, error) {
		for i, t := range texts {
			if bytes.Equal(t, sg.YAML) {
				return specs[i], t, nil
			}
		}
		return nil, nil, fmt.Errorf("no such spec")
	}
	m := New(compile)
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	step := 0
	apply := func(c *Command) {
		step++
		c.Time = t0.Add(time.Duration(step) * time.Millisecond)
		m.SetApplied(uint64(step), 1)
		if _, err := m.Apply(c); err != nil {
			b.Fatal(err)
		}
		m.Publish(time.Now())
	}
	setSpec := func(i int) {
		apply(&Command{Type: CmdSetSpec, Spec: &SetSpec{YAML: texts[i]}})
		apply(&Command{Type: CmdActivateSpec, Activate: &ActivateSpec{Index: uint64(step)}})
	}
	setSpec(0)
	for _, id := range []string{"n1", "n2", "n3"} {
		apply(&Command{Type: CmdRegisterMember, Member: &Member{ID: id}})
		r := &ObserverReport{Observer: id}
		for i := range records {
			for d, dc := range benchDCs {
				r.Changes = append(r.Changes, VerdictChange{Pool: testutil.StatePool(i, dc), Address: testutil.StateAddr(d, i), Up: true, Latency: 1.5})
			}
		}
		apply(&Command{Type: CmdObserverReport, Report: r})
	}

	b.Run("snapshot", func(b *testing.B) {
		var size int
		loopCPU(b, func() {
			data, err := m.Capture().Encode()
			if err != nil {
				b.Fatal(err)
			}
			size = len(data)
		})
		b.ReportMetric(float64(size)/(1<<20), "MiB")
	})
	data, err := m.Capture().Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("restore", func(b *testing.B) {
		loopCPU(b, func() {
			st, err := DecodeSnapshot(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			New(compile).Restore(st)
		})
	})
	b.Run("restore-same-spec", func(b *testing.B) {
		loopCPU(b, func() {
			st, err := m.DecodeSnapshot(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			New(compile).Restore(st)
		})
	})
	b.Run("spec-apply", func(b *testing.B) {
		i := 0
		loopCPU(b, func() {
			i++
			setSpec(i % 2) // set_spec, then activate_spec: every record's TTL changes
		})
	})
	b.Run("report-one", func(b *testing.B) {
		up := false
		loopCPU(b, func() {
			apply(&Command{Type: CmdObserverReport, Report: &ObserverReport{Observer: "n1", Changes: []VerdictChange{{Pool: testutil.StatePool(7, benchDCs[0]), Address: testutil.StateAddr(0, 7), Up: up, Reason: "refused"}}}})
			up = !up
		})
	})
	b.Run("report-datacenter", func(b *testing.B) {
		up := false
		loopCPU(b, func() {
			for _, id := range []string{"n1", "n2"} { // a majority: every record moves
				r := &ObserverReport{Observer: id}
				for i := range records {
					r.Changes = append(r.Changes, VerdictChange{Pool: testutil.StatePool(i, benchDCs[0]), Address: testutil.StateAddr(0, i), Up: up, Reason: "refused"})
				}
				apply(&Command{Type: CmdObserverReport, Report: r})
			}
			up = !up
		})
	})
}

// benchDCs are BenchmarkStateMachine's datacenters; its spec is
// testutil.StateSpec.
var benchDCs = []string{"d0", "d1", "d2"}

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loopCPU runs b.Loop over fn and reports the CPU used per iteration,
// which a loaded machine does not inflate as it does the wall time.
func loopCPU(b *testing.B, fn func()) {
	start, n := cpuTime(), 0
	for b.Loop() {
		fn()
		n++
	}
	b.ReportMetric((cpuTime()-start).Seconds()/float64(max(n, 1)), "cpu-s/op")
}
