package testcluster

import (
	"context"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
)

// BenchmarkBigSpecApply applies a spec of 200,000 records (or
// DETOUR_BENCH_RECORDS) through a follower, which parses it and proposes
// it (the API takes specs up to 1 MiB; bigger ones come as a node's seed
// spec, through the same path), while readers read: the View of another
// node every 2 ms and its /v1/status every 20 ms. It reports the apply's
// time (parse on the proposer to "in force on the proposing node") and
// the readers' latency (p50, p99, max). bench/spec-apply.sh runs it.
func BenchmarkBigSpecApply(b *testing.B) {
	records := bigSpecRecords
	if v := os.Getenv("DETOUR_BENCH_RECORDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		records = n
	}
	for i := 0; i < b.N; i++ {
		bigSpecTrial(b, records)
	}
}

func bigSpecTrial(b *testing.B, records int) {
	b.StopTimer()
	c := New(b, Options{})
	defer c.Close()
	_, y := bigClusterSpec(b, c.Spec, records)
	var proposer, reader *Member
	for _, m := range c.Members {
		switch {
		case m == c.Leader():
		case proposer == nil:
			proposer = m
		default:
			reader = m
		}
	}
	if reader == nil {
		reader = c.Leader()
	}
	// Phase 0 reads before the apply, for comparison; phase 1 during.
	var stop atomic.Bool
	var phase atomic.Int32
	var wg sync.WaitGroup
	var views, statuses [2][]time.Duration
	wg.Go(func() {
		for !stop.Load() {
			start := time.Now()
			v := reader.Node.Store().FSM().View()
			_, _ = v.Observers(), v.Decisions()
			p := phase.Load()
			views[p] = append(views[p], time.Since(start))
			time.Sleep(2 * time.Millisecond)
		}
	})
	wg.Go(func() {
		client := &http.Client{Timeout: 10 * time.Second}
		for !stop.Load() {
			start := time.Now()
			resp, err := client.Get("http://" + reader.Node.APIAddr() + "/v1/status")
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			p := phase.Load()
			statuses[p] = append(statuses[p], time.Since(start))
			time.Sleep(20 * time.Millisecond)
		}
	})
	time.Sleep(3 * time.Second)
	phase.Store(1)
	b.StartTimer()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err := proposer.Node.Store().Propose(ctx, &controller.Command{Type: controller.CmdSetSpec, Spec: &controller.SetSpec{YAML: y, Author: "bench"}})
	took := time.Since(start)
	b.StopTimer()
	stop.Store(true)
	wg.Wait()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(took.Seconds(), "apply-s")
	reportLatency(b, "view-before", views[0])
	reportLatency(b, "status-before", statuses[0])
	reportLatency(b, "view", views[1])
	reportLatency(b, "status", statuses[1])
}

// reportLatency reports the p50, p99 and max of ds in milliseconds.
func reportLatency(b *testing.B, what string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(ds[len(ds)/2]), what+"-p50-ms")
	b.ReportMetric(ms(ds[len(ds)*99/100]), what+"-p99-ms")
	b.ReportMetric(ms(ds[len(ds)-1]), what+"-max-ms")
}
