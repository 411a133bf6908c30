package testcluster

import (
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// BenchmarkRegionFailover loses the leader's datacenter with 1,000
// failover records (DETOUR_BENCH_RECORDS), each with its own endpoint in
// every datacenter: 3,000 endpoints, interval 1 s, fall 2, the WAN Raft
// timing. Each iteration is a trial on a new cluster. It reports the time
// from the loss to every record moved on both survivors (p50, p99, max),
// the time from the first record moved to the last (p50, max), and the
// Raft entries a survivor stored meanwhile (mean count and bytes, the
// largest entry).
//
//	go test -run '^$' -bench RegionFailover -benchtime 20x -timeout 30m ./internal/testcluster
func BenchmarkRegionFailover(b *testing.B) {
	records := 1000
	if v := os.Getenv("DETOUR_BENCH_RECORDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		records = n
	}
	var all, spread []time.Duration
	var entries, bytes, largest int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ev := regionTrial(b, records, time.Second, 2, "us-east")
		if ev == nil {
			b.Log("could not place the leader in us-east; trial skipped")
			continue
		}
		if ev.missing > 0 {
			b.Fatalf("%d record answers never moved", ev.missing)
		}
		all = append(all, ev.all)
		spread = append(spread, ev.last-ev.first)
		entries += ev.entries
		bytes += ev.bytes
		largest = max(largest, ev.largest)
		b.Logf("trial %d: all moved %s, first %s, last %s; %d entries, %d bytes, largest %d", i,
			ev.all.Round(time.Millisecond), ev.first.Round(time.Millisecond), ev.last.Round(time.Millisecond), ev.entries, ev.bytes, ev.largest)
		b.Logf("trial %d: %s", i, ev.trace)
	}
	if len(all) == 0 {
		b.Skip("no trial")
	}
	report(b, all)
	slices.Sort(spread)
	b.ReportMetric(spread[len(spread)/2].Seconds(), "spread-p50-s")
	b.ReportMetric(spread[len(spread)-1].Seconds(), "spread-max-s")
	b.ReportMetric(float64(entries)/float64(len(all)), "entries/event")
	b.ReportMetric(float64(bytes)/float64(len(all)), "bytes/event")
	b.ReportMetric(float64(largest), "largest-entry-bytes")
}
