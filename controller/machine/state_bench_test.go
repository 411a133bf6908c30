package machine

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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
	texts := [2][]byte{[]byte(benchSpec(records, 30)), []byte(benchSpec(records, 31))}
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
			for d := range 3 {
				r.Changes = append(r.Changes, VerdictChange{Pool: fmt.Sprintf("r%d-%d", i, d), Address: benchAddr(d, i), Up: true, Latency: 1.5})
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
			apply(&Command{Type: CmdObserverReport, Report: &ObserverReport{Observer: "n1", Changes: []VerdictChange{{Pool: "r7-0", Address: benchAddr(0, 7), Up: up, Reason: "refused"}}}})
			up = !up
		})
	})
	b.Run("report-datacenter", func(b *testing.B) {
		up := false
		loopCPU(b, func() {
			for _, id := range []string{"n1", "n2"} { // a majority: every record moves
				r := &ObserverReport{Observer: id}
				for i := range records {
					r.Changes = append(r.Changes, VerdictChange{Pool: fmt.Sprintf("r%d-0", i), Address: benchAddr(0, i), Up: up, Reason: "refused"})
				}
				apply(&Command{Type: CmdObserverReport, Report: r})
			}
			up = !up
		})
	})
}

// benchSpec is the spec of BenchmarkStateMachine.
func benchSpec(records int, ttl uint32) string {
	var b strings.Builder
	b.WriteString(`zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
datacenters: [{name: d0}, {name: d1}, {name: d2}]
checks:
  - {name: c, type: tcp, interval: 5s, timeout: 1s, rise: 1, fall: 1}
pools:
`)
	for i := range records {
		for d := range 3 {
			fmt.Fprintf(&b, "  - {name: r%d-%d, datacenter: d%d, check: c, endpoints: [{address: %s, check_address: \"127.0.0.1:1\"}]}\n", i, d, d, benchAddr(d, i))
		}
	}
	b.WriteString("records:\n")
	for i := range records {
		fmt.Fprintf(&b, "  - {name: r%d.example.test, type: A, ttl: %d, policy: failover, pools: [r%d-0, r%d-1, r%d-2]}\n", i, ttl, i, i, i)
	}
	return b.String()
}

func benchAddr(d, i int) string { return fmt.Sprintf("10.%d.%d.%d", d+1, i/256, i%256) }

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
