package testcluster

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// TestRegionReportsOnce loses the endpoints of one datacenter, every
// node staying up: each observer's down verdict on each of them is in
// one committed report, not in several. A follower's report returns when
// the leader commits it, before the follower applies it; a report made
// meanwhile from the follower's applied state carried the last one's
// changes again (a thousand verdicts, two or three times over, when a
// whole datacenter is lost).
func TestRegionReportsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("300 endpoints on three nodes")
	}
	records := map[bool]int{false: 100, true: 50}[testutil.Race]
	const lose = "us-east"
	r := NewRegion(t, records, time.Second, 2)
	defer r.Close()
	rec := &reportRecorder{}
	failed := &failedReports{}
	timing := controller.DefaultTiming
	c := New(t, Options{Interval: time.Second, Fall: 2, Timing: &timing, SpecHook: r.SpecHook, Logger: slog.New(failed),
		Configure: func(m *Member, cfg *node.Config) {
			if m.DC == "us-west" {
				cfg.WrapLogStore = rec.wrap
			}
		}})
	defer c.Close()
	rec.on.Store(true)
	failed.on.Store(true)
	r.Kill(lose)
	moves := r.WatchMoves(c.Members, func(i int) string { return r.Address("us-west", i) }, 30*time.Second)
	for _, m := range c.Members {
		for i, at := range moves[m] {
			if at.IsZero() {
				t.Fatalf("%s: r%d never moved", m.ID, i)
			}
		}
	}
	// The observers' last reports commit before the last record moves,
	// but reach us-west's log store a moment later when it follows.
	time.Sleep(500 * time.Millisecond)
	rec.on.Store(false)
	counts, terms := rec.downs(t, "-"+lose)
	if terms > 1 {
		t.Skip("the leader changed during the event: a report abandoned then may rightly be made again")
	}
	dups := 0
	for k, n := range counts {
		if n > 1 && failed.by(k[0]) > 0 {
			// A report that timed out may have committed all the same:
			// made again, rightly (a loaded machine).
			t.Logf("%s reported %s/%s down %d times, after %d reports that did not answer", k[0], k[1], k[2], n, failed.by(k[0]))
			continue
		}
		if n > 1 {
			dups += n - 1
			if dups <= 5 {
				t.Logf("%s reported %s/%s down %d times", k[0], k[1], k[2], n)
			}
		}
	}
	if len(counts) != len(c.Members)*records {
		t.Errorf("%d down verdicts reported, want %d (every observer on every endpoint lost)", len(counts), len(c.Members)*records)
	}
	if dups > 0 {
		t.Errorf("%d down verdicts reported again after they committed, want none", dups)
	}
}

// reportRecorder keeps the observer reports a node stores while on.
type reportRecorder struct {
	on      atomic.Bool
	mu      sync.Mutex
	entries []raft.Log
}

func (r *reportRecorder) wrap(s raft.LogStore) raft.LogStore { return recordingLog{LogStore: s, r: r} }

type recordingLog struct {
	raft.LogStore
	r *reportRecorder
}

func (l recordingLog) StoreLog(e *raft.Log) error { return l.StoreLogs([]*raft.Log{e}) }

func (l recordingLog) StoreLogs(es []*raft.Log) error {
	if l.r.on.Load() {
		l.r.mu.Lock()
		for _, e := range es {
			if e.Type == raft.LogCommand {
				l.r.entries = append(l.r.entries, raft.Log{Index: e.Index, Term: e.Term, Data: append([]byte(nil), e.Data...)})
			}
		}
		l.r.mu.Unlock()
	}
	return l.LogStore.StoreLogs(es)
}

// downs counts, per observer, pool and address of a pool named with
// suffix, the down verdicts the recorded reports carry, and how many
// terms the recorded entries span.
func (r *reportRecorder) downs(t *testing.T, suffix string) (map[[3]string]int, int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	counts := map[[3]string]int{}
	terms := map[uint64]bool{}
	seen := map[uint64]bool{}
	for _, e := range r.entries {
		if seen[e.Index] {
			continue // stored again after a conflict
		}
		seen[e.Index] = true
		terms[e.Term] = true
		cmd, err := controller.DecodeCommand(e.Data)
		if err != nil {
			t.Fatalf("entry %d: %v", e.Index, err)
		}
		if cmd.Type != controller.CmdObserverReport || cmd.Report == nil {
			continue
		}
		for _, ch := range cmd.Report.Changes {
			if !ch.Up && !ch.Forget && strings.HasSuffix(ch.Pool, suffix) {
				counts[[3]string{cmd.Report.Observer, ch.Pool, ch.Address}]++
			}
		}
	}
	return counts, len(terms)
}

// failedReports counts, per node, the reports that returned an error
// while on (the observer's debug log).
type failedReports struct {
	on    atomic.Bool
	mu    sync.Mutex
	nodes map[string]int
	attrs []slog.Attr
	root  *failedReports
}

func (f *failedReports) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelDebug }

func (f *failedReports) WithAttrs(as []slog.Attr) slog.Handler {
	root := f.root
	if root == nil {
		root = f
	}
	return &failedReports{root: root, attrs: append(slices.Clone(f.attrs), as...)}
}

func (f *failedReports) WithGroup(string) slog.Handler { return f }

func (f *failedReports) Handle(_ context.Context, r slog.Record) error {
	root := f.root
	if root == nil {
		root = f
	}
	if r.Message != "health report" || !root.on.Load() {
		return nil
	}
	failed := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" && (a.Value.Kind() != slog.KindAny || a.Value.Any() != nil) {
			failed = true
		}
		return true
	})
	if !failed {
		return nil
	}
	for _, a := range f.attrs {
		if a.Key == "node" {
			root.mu.Lock()
			if root.nodes == nil {
				root.nodes = map[string]int{}
			}
			root.nodes[a.Value.String()]++
			root.mu.Unlock()
		}
	}
	return nil
}

// by is how many of node's reports failed.
func (f *failedReports) by(node string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nodes[node]
}
