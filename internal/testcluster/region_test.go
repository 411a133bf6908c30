package testcluster

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// regionRecords is the records of the region-wide test: 300 (900
// endpoints, 2,700 probes a second over the three in-process nodes), or
// 100 under the race detector, which slows probing several times over:
// 2,700 probes a second do not fit the machine's two cores under it, so
// that endpoints time out and the cluster never settles.
var regionRecords = map[bool]int{false: 300, true: 100}[testutil.Race]

// TestRegionFailover loses the leader's datacenter, its node and the
// endpoints of all 300 records (regionRecords) at once: every record on both survivors
// answers its next pool within twice the target of interval x fall + 1 s.
func TestRegionFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("900 endpoints on three nodes")
	}
	const interval, fall = time.Second, 2
	ev := regionTrial(t, regionRecords, interval, fall, "us-east")
	if ev == nil {
		t.Skip("could not place the leader in us-east")
	}
	t.Logf("%d records moved on %d survivors: all within %s, first %s, last %s; %d Raft entries, %d bytes, largest %d",
		regionRecords, ev.survivors, ev.all.Round(time.Millisecond), ev.first.Round(time.Millisecond), ev.last.Round(time.Millisecond),
		ev.entries, ev.bytes, ev.largest)
	t.Log(ev.trace)
	if ev.missing > 0 {
		t.Fatalf("%d record answers never moved to their next pool within 30s", ev.missing)
	}
	// The target (docs/benchmarks.md) is 3 s; a test asserts twice that
	// (three times again under the race detector, which slows the three
	// nodes' 2,700 probes a second on the same two cores).
	budget := 2 * (interval*fall + time.Second)
	if testutil.Race {
		budget *= 3
	}
	if ev.all > budget {
		t.Errorf("every record moved %s after the loss, want within %s", ev.all, budget)
	}
	if ev.entries == 0 {
		t.Error("no Raft entry during the failover")
	}
}

// regionEvent is what one region-wide failover took.
type regionEvent struct {
	survivors int
	// all is from the loss to every record moved on every survivor;
	// first and last are the first and the last record moved (on any
	// survivor), from the loss.
	all, first, last time.Duration
	// missing is how many record answers never moved.
	missing int
	// entries, bytes and largest count the Raft entries a survivor
	// stored from the loss until every record moved.
	entries, bytes, largest int64
	// trace is what each survivor did (region_trace_test.go).
	trace string
}

// regionTrial starts a cluster with records region records, places the
// leader in datacenter lose (nil when it cannot), loses that datacenter,
// and watches every record move to us-west's endpoint (eu-west's when
// us-west is lost).
func regionTrial(t testing.TB, records int, interval time.Duration, fall int, lose string) *regionEvent {
	t.Helper()
	r := NewRegion(t, records, interval, fall)
	defer r.Close()
	setup := time.Now()
	stopWatch := r.watchSetup(t, 5*time.Second)
	counters := map[string]*LogCounter{}
	timing := controller.DefaultTiming
	trace := newRegionTrace(r, lose)
	c := New(t, Options{Interval: interval, Fall: fall, Timing: &timing, SpecHook: r.SpecHook, Logger: trace.Logger(),
		Configure: func(m *Member, cfg *node.Config) {
			lc := &LogCounter{}
			counters[m.ID] = lc
			cfg.WrapLogStore = lc.Wrap
		}})
	defer c.Close()
	stopWatch()
	steady := r.MeasureLoad(2 * time.Second)
	t.Logf("%d records settled in %s; then %s (%.0f scheduled)",
		records, time.Since(setup).Round(100*time.Millisecond), steady, r.Scheduled(len(c.Members)))
	for i := 0; i < 10 && c.Leader().DC != lose; i++ {
		_ = c.Leader().Node.Store().StepDown(context.Background())
		time.Sleep(time.Second)
	}
	if c.Leader().DC != lose {
		return nil
	}
	next := "us-west"
	if lose == next {
		next = "eu-west"
	}
	for _, lc := range counters {
		lc.Reset()
	}
	lostID := c.Leader().ID
	var live []*Member
	for _, m := range c.Members {
		if m.DC != lose {
			live = append(live, m)
		}
	}
	stopProfile := profileEvent(t)
	start := time.Now()
	trace.Start(start, lostID, live)
	// Node and endpoints at once: the node's links are cut first (at
	// once), as the endpoints' process closes every listener and kept
	// connection (which takes a while at this size), then it stops.
	c.Faults.Cut(lostID)
	r.Kill(lose)
	trace.Killed(time.Now())
	c.KillDC(lose)
	moves := r.WatchMoves(live, func(i int) string { return r.Address(next, i) }, 30*time.Second)
	trace.Stop()
	stopProfile()
	ev := &regionEvent{survivors: len(live), trace: trace.Summary(moves)}
	for _, m := range live {
		ev.trace += fmt.Sprintf("\n  %s: slowest log write %s", m.ID, counters[m.ID].Slowest().Round(time.Millisecond))
	}
	var all []time.Time
	for _, m := range live {
		entries, bytes, largest := counters[m.ID].Counts()
		ev.entries, ev.bytes, ev.largest = max(ev.entries, entries), max(ev.bytes, bytes), max(ev.largest, largest)
		for _, at := range moves[m] {
			if at.IsZero() {
				ev.missing++
				continue
			}
			all = append(all, at)
		}
	}
	if len(all) > 0 {
		slices.SortFunc(all, func(a, b time.Time) int { return a.Compare(b) })
		ev.first, ev.last = all[0].Sub(start), all[len(all)-1].Sub(start)
		ev.all = ev.last
	}
	if ev.missing > 0 {
		ev.all = time.Since(start)
	}
	return ev
}
