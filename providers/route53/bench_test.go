package route53_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
)

// BenchmarkFailover100 measures, for a zone of 100 health-driven records
// all failing over at once (one Raft apply), the time from the decision
// to the emulator holding every new answer, and the requests it took
// (the batch and its GetChange polls).
func BenchmarkFailover100(b *testing.B) {
	const n = 100
	emu := newEmu(b)
	h := start(b, emu, n, "1m")
	testutil.Eventually(b, "first sync", 10*time.Second, func() bool { return inSync(h.m) && len(contents(emu)) == 2*(n+1) })
	b.ResetTimer()
	var reqs int
	var total time.Duration
	for i := 0; i < b.N; i++ {
		addr := "198.51.100.1"
		if i%2 == 1 {
			addr = "192.0.2.1"
		}
		testutil.Eventually(b, "in sync", 10*time.Second, func() bool { return inSync(h.m) })
		emu.ResetRequests()
		start := time.Now()
		h.src.SetMany(func(set func(string, string, ...string)) {
			for j := 0; j < n; j++ {
				set(fmt.Sprintf("www%d.example.test.", j), "A", addr)
			}
		})
		first := fmt.Sprintf("www0.example.test. A 30 %s", addr)
		last := fmt.Sprintf("www%d.example.test. A 30 %s", n-1, addr)
		for !has(emu, first, last) {
			time.Sleep(200 * time.Microsecond)
		}
		total += time.Since(start)
		testutil.Eventually(b, "in sync", 10*time.Second, func() bool { return inSync(h.m) })
		_, c := emu.Requests()
		reqs += c
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/failover")
	b.ReportMetric(float64(reqs)/float64(b.N), "requests/failover")
}
