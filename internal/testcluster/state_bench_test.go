package testcluster

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

// BenchmarkStateSize holds the state of 10,000 failover records
// (DETOUR_BENCH_RECORDS) with an endpoint in each of three datacenters
// (30,000 endpoints, a pool each) on a node of one, with the verdicts of
// three observers (its own, every endpoint checked, and two more
// reported through Raft). Each iteration snapshots the state as Raft
// does (capture, then Persist), restores it into a new state machine,
// and applies a changed spec through Raft. It reports the snapshot's
// size and times, the restore's, the apply's, and the process's RSS and
// live heap (the node is the process's only big user).
//
//	go test -run '^$' -bench StateSize -benchtime 5x ./internal/testcluster
func BenchmarkStateSize(b *testing.B) {
	records := 10_000
	if v := os.Getenv("DETOUR_BENCH_RECORDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		records = n
	}
	text := testutil.StateSpec(records, 1, Datacenters)
	file := filepath.Join(b.TempDir(), "spec.yaml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		b.Fatal(err)
	}
	n, err := node.Start(node.Config{Dev: true, DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", Spec: file}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close(context.Background())
	store := n.Store()
	endpoints := 3 * records
	testutil.Eventually(b, "every endpoint checked and reported", 300*time.Second, func() bool {
		return len(store.FSM().View().Verdicts(store.ID())) == endpoints
	})
	for _, obs := range []string{"bench-b", "bench-c"} {
		r := &controller.ObserverReport{Observer: obs}
		for i := range records {
			for d, dc := range Datacenters {
				r.Changes = append(r.Changes, controller.VerdictChange{Pool: testutil.StatePool(i, dc), Address: testutil.StateAddr(d, i), Up: true, Latency: 1.5})
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := store.Propose(ctx, &controller.Command{Type: controller.CmdObserverReport, Report: r})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(rssKB())/1024, "RSS-MiB")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")

	var snapT, persistT, restoreT, parseT, applyT time.Duration
	var size int
	for i := 0; i < b.N; i++ {
		start := time.Now()
		snap, err := store.FSM().Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		snapT += time.Since(start)
		sink := &memSink{}
		if err := snap.Persist(sink); err != nil {
			b.Fatal(err)
		}
		persistT += time.Since(start)
		size = sink.Len()

		start = time.Now()
		f := controller.NewFSM(slog.New(slog.DiscardHandler))
		if err := f.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
			b.Fatal(err)
		}
		restoreT += time.Since(start)
		if got := len(f.View().Verdicts("bench-b")); got != endpoints {
			b.Fatalf("restored %d verdicts of bench-b, want %d", got, endpoints)
		}
		f.Close() // its publisher holds the restored state until stopped

		// A changed spec (every record's TTL), parsed as the API does
		// (which commits the text it received), through Raft until in
		// force.
		y := []byte(testutil.StateSpec(records, uint32(i%2+2), Datacenters))
		start = time.Now()
		sp, err := spec.Parse(y)
		if err != nil {
			b.Fatal(err)
		}
		parseT += time.Since(start)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		_, err = store.Propose(ctx, &controller.Command{Type: controller.CmdSetSpec, Spec: controller.ParsedSpec(sp, y, "bench")})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		applyT += time.Since(start)
	}
	per := func(d time.Duration) float64 { return d.Seconds() / float64(b.N) }
	b.ReportMetric(float64(size)/(1<<20), "snapshot-MiB")
	b.ReportMetric(per(snapT), "capture-s")
	b.ReportMetric(per(persistT), "snapshot-s")
	b.ReportMetric(per(restoreT), "restore-s")
	b.ReportMetric(per(parseT), "parse-s")
	b.ReportMetric(per(applyT), "apply-s")
	b.ReportMetric(0, "ns/op")
}

// memSink is a raft.SnapshotSink in memory.
type memSink struct{ bytes.Buffer }

func (s *memSink) ID() string    { return "bench" }
func (s *memSink) Cancel() error { return nil }
func (s *memSink) Close() error  { return nil }

// rssKB is this process's resident set in KiB.
func rssKB() int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}
