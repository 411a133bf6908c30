package testcluster

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
)

// BenchmarkFailover measures, over many trials, the time from losing a
// whole datacenter (node and site at once) to every surviving node
// answering from the next pool: check interval 1s, fall 2, the WAN Raft
// timing, and a delay injected on every write between nodes.
//
//	go test -run '^$' -bench Failover -benchtime 20x ./internal/testcluster
//
// DETOUR_BENCH_DELAY sets the injected one-way delay (default 50ms);
// DETOUR_BENCH_RAFT sets the Raft heartbeat and election timeouts (default
// controller.DefaultTiming's), the leader lease being half of it.
func BenchmarkFailover(b *testing.B) {
	delay := 50 * time.Millisecond
	if v := os.Getenv("DETOUR_BENCH_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		delay = d
	}
	for _, which := range []string{"leader", "follower"} {
		b.Run(which, func(b *testing.B) {
			var times []time.Duration
			for i := 0; i < b.N; i++ {
				times = append(times, failoverTrial(b, which, delay))
			}
			report(b, times)
		})
	}
}

func failoverTrial(b *testing.B, which string, delay time.Duration) time.Duration {
	b.Helper()
	b.StopTimer()
	timing := benchTiming(b)
	c := New(b, Options{Interval: time.Second, Fall: 2, Timing: &timing})
	defer c.Close()
	c.Faults.SetDelay(delay)
	// The datacenter lost is us-east (first in failover order); put the
	// leader there, or away from it.
	want := "us-east"
	if which == "follower" {
		want = "us-west"
	}
	for i := 0; i < 10 && c.Leader().DC != want; i++ {
		_ = c.Leader().Node.Store().StepDown(context.Background())
		time.Sleep(time.Second)
	}
	if (c.Leader().DC == "us-east") != (which == "leader") {
		b.Skipf("could not place the leader for a %s trial", which)
	}
	b.StartTimer()
	start := time.Now()
	c.KillDC("us-east")
	for _, m := range c.Live() {
		c.WaitAnswer(m, Answers["us-west"], 30*time.Second)
	}
	took := time.Since(start)
	b.StopTimer()
	return took
}

func benchTiming(b *testing.B) controller.Timing {
	timing := controller.DefaultTiming
	if v := os.Getenv("DETOUR_BENCH_RAFT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		timing.HeartbeatTimeout, timing.ElectionTimeout, timing.LeaderLeaseTimeout = d, d, d/2
	}
	return timing
}

func report(b *testing.B, times []time.Duration) {
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	pct := func(p float64) time.Duration { return times[min(len(times)-1, int(float64(len(times))*p))] }
	b.ReportMetric(pct(0.5).Seconds(), "p50-s")
	b.ReportMetric(pct(0.99).Seconds(), "p99-s")
	b.ReportMetric(times[len(times)-1].Seconds(), "max-s")
	var s []string
	for _, t := range times {
		s = append(s, t.Round(10*time.Millisecond).String())
	}
	b.Logf("%d trials: p50 %s p99 %s max %s; all: %s", len(times), pct(0.5).Round(time.Millisecond),
		pct(0.99).Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond), strings.Join(s, " "))
}

// BenchmarkVerdictCommit measures how long one observer report takes to
// commit through the leader with the injected delay: the Raft part of the
// failover budget.
func BenchmarkVerdictCommit(b *testing.B) {
	timing := controller.DefaultTiming
	c := New(b, Options{Interval: time.Second, Fall: 2, Timing: &timing})
	c.Faults.SetDelay(50 * time.Millisecond)
	var follower *Member
	leader := c.Leader()
	for _, m := range c.Live() {
		if m != leader {
			follower = m
		}
	}
	for _, from := range []*Member{leader, follower} {
		name := "on-leader"
		if from == follower {
			name = "forwarded"
		}
		b.Run(name, func(b *testing.B) {
			var times []time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				err := c.Propose(from, &controller.Command{Type: controller.CmdObserverReport,
					Report: &controller.ObserverReport{Observer: "bench-" + fmt.Sprint(i%2)}})
				if err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(start))
			}
			report(b, times)
		})
	}
}
