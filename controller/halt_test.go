package controller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// A command type this version does not know is refused by the leader
// before it reaches the log; one that reaches the log anyway (a newer
// leader in a rolling upgrade) halts every replica at that entry rather
// than being refused here and applied there, so the replicas cannot
// diverge. A halted replica keeps its answers and takes no snapshot.
func TestUnknownCommandHalts(t *testing.T) {
	stores, follower := seededCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := follower.Propose(ctx, &Command{Type: "from_a_newer_version"})
	if !errors.Is(err, ErrBadCommand) {
		t.Fatalf("an unknown command proposed: %v, want ErrBadCommand", err)
	}
	var leader *Store
	for _, s := range stores {
		if s.IsLeader() {
			leader = s
		}
	}
	if leader == nil {
		t.Skip("no leader")
	}
	data := []byte(`{"type":"from_a_newer_version","time":"2026-01-01T00:00:00Z"}`)
	f := leader.raft.Apply(data, 5*time.Second)
	if err := f.Error(); err != nil {
		t.Fatal(err)
	}
	if resp, _ := f.Response().(error); !errors.Is(resp, ErrHalted) {
		t.Fatalf("the leader applied an unknown command with %v, want ErrHalted", resp)
	}
	for _, s := range stores {
		testutil.Eventually(t, s.ID()+" halted", 5*time.Second, func() bool { return s.FSM().Halted() != nil })
		if h := s.FSM().Halted(); h.Index != f.Index() {
			t.Errorf("%s halted at %d, the entry is %d", s.ID(), h.Index, f.Index())
		}
		if got := wwwAnswer(s); got != "192.0.2.10" {
			t.Errorf("halted %s answers %s, want its last answer", s.ID(), got)
		}
		if !errors.Is(s.Problem(), ErrHalted) {
			t.Errorf("%s: problem %v, want ErrHalted", s.ID(), s.Problem())
		}
		if err := s.raft.Snapshot().Error(); err == nil {
			t.Errorf("halted %s took a snapshot", s.ID())
		}
		if s.FSM().AppliedIndex() >= f.Index() {
			t.Errorf("%s says it applied %d, past the entry it halted at", s.ID(), s.FSM().AppliedIndex())
		}
	}
}

// failingLog fails every write while fail is set, as a full disk does.
type failingLog struct {
	raft.LogStore
	fail *atomic.Bool
}

var errDiskFull = fmt.Errorf("write raft.db: %w", syscall.ENOSPC)

func (f failingLog) StoreLogs(ls []*raft.Log) error {
	if f.fail.Load() {
		return errDiskFull
	}
	return f.LogStore.StoreLogs(ls)
}

func (f failingLog) StoreLog(l *raft.Log) error { return f.StoreLogs([]*raft.Log{l}) }

// A leader that cannot write its log answers a write with a storage
// error, retryable, not a refusal; the node says why it is not to be
// counted on, and is itself again once it can write.
func TestLogWriteFailureIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var fail atomic.Bool
	s, err := OpenStore(StoreConfig{NodeID: "n0", RaftAddr: ln.Addr().String(), Listener: ln, DataDir: t.TempDir(),
		Timing: fastTiming, Seed: contractSpec(t), Logger: slog.New(slog.DiscardHandler),
		WrapLogStore: func(l raft.LogStore) raft.LogStore { return failingLog{LogStore: l, fail: &fail} }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	testutil.Eventually(t, "seeded", 10*time.Second, func() bool { return wwwAnswer(s) != "" })
	fail.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	drain := &Command{Type: CmdSetOverride, Override: &Override{Kind: OverrideDrain, Target: "us-east", Reason: "test"}}
	err = s.raftPropose(ctx, drain)
	if !errors.Is(err, ErrStorage) || errors.Is(err, ErrRejected) {
		t.Fatalf("a write while the log cannot be written: %v; want ErrStorage, not a refusal", err)
	}
	if !errors.Is(s.Problem(), ErrStorage) || s.LogStoreErrors() == 0 {
		t.Errorf("problem %v after %d failed writes, want ErrStorage", s.Problem(), s.LogStoreErrors())
	}
	if _, err := s.Propose(ctx, drain); !errors.Is(err, ErrStorage) {
		t.Errorf("a write on a node that cannot write its log: %v, want ErrStorage at once", err)
	}
	fail.Store(false)
	testutil.Eventually(t, "the log written again", 10*time.Second, func() bool { return s.Problem() == nil })
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if _, err := s.Propose(ctx2, drain); err != nil {
		t.Fatalf("a write once the disk has room: %v", err)
	}
}

// raftPropose is Propose without the check of this node's own problems:
// the write meets the failing log.
func (s *Store) raftPropose(ctx context.Context, c *Command) error {
	data, err := c.Encode()
	if err != nil {
		return err
	}
	_, err = s.onLeader(ctx, rpcRequest{Op: opApply, Data: data})
	return err
}

// Nothing in the data directory is readable by anyone but the node's
// user: the directory, the Raft log, the applied-index note and the
// snapshots, also when an older version left them world-readable.
func TestDataDirPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	root := t.TempDir()
	dir := filepath.Join(root, "n0")
	if err := os.MkdirAll(filepath.Join(dir, "snapshots", "1-2-3"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "snapshots", "1-2-3", "state.bin"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore(StoreConfig{NodeID: "n0", RaftAddr: ln.Addr().String(), Listener: ln, DataDir: dir,
		Timing: fastTiming, Seed: contractSpec(t), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "seeded", 10*time.Second, func() bool { return wwwAnswer(s) != "" })
	if err := s.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		seen[d.Name()] = true
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			rel, _ := filepath.Rel(root, path)
			t.Errorf("%s is %v: readable beyond the node's user", rel, perm)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"raft.db", appliedFile, "state.bin", "meta.json"} {
		if !seen[name] {
			t.Errorf("no %s in the data dir: the test checked less than it should", name)
		}
	}
}

// A replica halted by a panicking apply refuses every later entry until
// a snapshot restores a state the cluster agrees on; then it applies
// again.
func TestHaltedFSMRestoresFromSnapshot(t *testing.T) {
	f := testFSM(t)
	f.hooks.BeforeApply = func(c *Command) {
		if c.Report != nil && c.Report.Observer == "poison" {
			panic("simulated")
		}
	}
	entry := func(i uint64, obs string) *raft.Log {
		b, _ := (&Command{Type: CmdObserverReport, Time: time.Now(), Report: &ObserverReport{Observer: obs}}).Encode()
		return &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: b}
	}
	healthy := testFSM(t)
	for i, obs := range []string{"a", "poison", "b"} {
		healthy.Apply(entry(uint64(i+1), obs))
		resp := f.Apply(entry(uint64(i+1), obs))
		if err, _ := resp.(error); i > 0 && !errors.Is(err, ErrHalted) {
			t.Fatalf("entry %d on the halted replica: %v, want ErrHalted", i+1, resp)
		}
	}
	if h := f.Halted(); h == nil || h.Index != 2 || f.AppliedIndex() != 1 {
		t.Fatalf("halt %+v at applied index %d, want halted at 2 having applied 1", h, f.AppliedIndex())
	}
	if _, err := f.Snapshot(); !errors.Is(err, ErrHalted) {
		t.Fatalf("a halted replica's snapshot: %v", err)
	}
	snap, err := healthy.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	if err := f.Restore(io.NopCloser(&sink.buf)); err != nil {
		t.Fatal(err)
	}
	if f.Halted() != nil || f.AppliedIndex() != 3 {
		t.Fatalf("after the restore: halt %+v at %d, want applying at 3", f.Halted(), f.AppliedIndex())
	}
	if resp, _ := f.Apply(entry(4, "c")).(error); resp != nil {
		t.Fatalf("an entry after the restore: %v", resp)
	}
}

// memSink is a raft.SnapshotSink in memory.
type memSink struct{ buf bytes.Buffer }

func (s *memSink) Write(p []byte) (int, error) { return s.buf.Write(p) }
func (s *memSink) Close() error                { return nil }
func (s *memSink) ID() string                  { return "mem" }
func (s *memSink) Cancel() error               { return nil }
