package controller

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/seed3787e6f1/detour/controller/machine"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/spec"
)

// FSM adapts the state machine (package machine) to Raft and hands
// each new View to the publisher, which builds the DNS answers from it
// outside the lock. Apply is deterministic; publishing the view is a
// pointer swap.
type FSM struct {
	logger *slog.Logger

	// mu is held by Apply and Restore only: readers and snapshots use
	// the View, published after every apply, and never take it.
	mu sync.Mutex
	m  *machine.Machine
	// job compiles the staged spec; ready is the compile of the spec in
	// force, whose zone set the publisher takes (stage.go).
	job, ready *compileJob

	offered atomic.Pointer[offered] // see FSM.offer
	onBeat  atomic.Pointer[func(check, endpoint string, at time.Time)]
	pub     *publisher // builds the DNS answers (publisher.go)

	// appliedAt is when this node applied the state's latest time, on
	// its monotonic clock: a new leader's clock goes on from there.
	appliedAt time.Time
	// halt is set when an entry failed to apply (see halt.go); hooks
	// are the operator's repair and the tests' fault injection.
	halt  atomic.Pointer[Halt]
	hooks FSMHooks
}

// OnHeartbeat sets what hears of every committed heartbeat (the local
// health engine). It is a notification, not state: the state keeps the
// last beat itself.
func (f *FSM) OnHeartbeat(fn func(check, endpoint string, at time.Time)) { f.onBeat.Store(&fn) }

// NewFSM returns an FSM with empty state and starts its publisher;
// Close stops it.
func NewFSM(logger *slog.Logger) *FSM {
	f := &FSM{logger: logger}
	f.m = machine.New(f.compiled)
	f.pub = startPublisher(logger, f.publishFailed)
	return f
}

// Close stops the publisher, after the last Apply: the answers stay as
// they were last built.
func (f *FSM) Close() { f.pub.close() }

// View returns the latest read view. It never blocks.
func (f *FSM) View() *View { return f.m.View() }

// timeNow is the state's time carried forward by the time passed since
// this node applied it; ok is false while the state has no time.
func (f *FSM) timeNow() (t time.Time, ok bool) {
	v := f.View()
	if v.Now().IsZero() {
		return time.Time{}, false
	}
	return v.Now().Add(time.Since(v.AppliedAt())), true
}

// Apply implements raft.FSM. It returns the command's Result, or the
// error that made the command a no-op.
//
// An entry at or below the index already applied is skipped: after a
// crash, the Store replays the entries it knows were committed before
// Raft learns the commit index from a leader (replayCommitted), and Raft
// then hands the same entries over again.
func (f *FSM) Apply(l *raft.Log) any {
	f.awaitCompile(l) // before the lock: the leader's clock and duties read through it
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := f.apply(l)
	f.startCompile()
	f.publishView()
	return resp
}

// apply is Apply with f.mu held. A panic or a failure no refusal
// explains halts the replica instead of crashing it (see halt.go).
func (f *FSM) apply(l *raft.Log) (resp any) {
	if l.Type != raft.LogCommand {
		return nil
	}
	if h := f.halt.Load(); h != nil {
		return h.err()
	}
	prevIndex, prevTerm := f.m.Applied()
	if l.Index != 0 && l.Index <= prevIndex {
		return nil
	}
	if l.Index != 0 && slices.Contains(f.hooks.Skip, l.Index) {
		f.m.SetApplied(l.Index, l.Term)
		f.logger.Warn("skipping a log entry as the operator asked (--skip-entry)", "index", l.Index, "term", l.Term)
		return fmt.Errorf("%w: entry %d", ErrSkipped, l.Index)
	}
	defer func() {
		if r := recover(); r != nil {
			resp = f.haltAt(l, prevIndex, prevTerm, fmt.Sprintf("panic: %v", r), debug.Stack())
		}
	}()
	if l.Index != 0 {
		f.m.SetApplied(l.Index, l.Term)
	}
	c, err := DecodeCommand(l.Data)
	if err != nil {
		// Every replica fails the same way on the same bytes: consumed.
		f.logger.Error("skipping undecodable log entry", "index", l.Index, "err", err)
		return err
	}
	if f.hooks.BeforeApply != nil {
		f.hooks.BeforeApply(c)
	}
	nowBefore := f.m.Now()
	res, err := f.m.Apply(c)
	if errors.Is(err, machine.ErrUnknownCommand) || errors.Is(err, machine.ErrCompile) {
		return f.haltAt(l, prevIndex, prevTerm, err.Error(), nil)
	} else if err != nil {
		return err
	}
	if !f.m.Now().Equal(nowBefore) {
		f.appliedAt = time.Now()
	}
	if c.Type == CmdHeartbeat {
		if fn := f.onBeat.Load(); fn != nil {
			// The engines judge a beat's age on their own clock: it
			// was committed just now.
			(*fn)(c.Beat.Check, c.Beat.Endpoint, f.hooks.now())
		}
	}
	return res
}

// AppliedIndex is the Raft index of the last entry applied.
func (f *FSM) AppliedIndex() uint64 { return f.View().Index() }

// applied is the index and term of the last entry applied.
func (f *FSM) applied() (index, term uint64) {
	v := f.View()
	return v.Index(), v.Term()
}

// replay applies the log entries after from, up to last, which must have
// term lastTerm, all under one hold of the lock, so that a snapshot
// restored meanwhile cannot interleave. get reads an entry of the log. It
// applies nothing when the entry at last has another term: the log is
// not the one the note was made of. It returns how many entries it
// applied.
func (f *FSM) replay(from, last, lastTerm uint64, get func(uint64, *raft.Log) error) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var end raft.Log
	if err := get(last, &end); err != nil {
		return 0, err
	}
	if end.Term != lastTerm {
		return 0, fmt.Errorf("the entry at %d has term %d, the note says %d", last, end.Term, lastTerm)
	}
	n := 0
	held, _ := f.m.Applied()
	for i := max(from, held) + 1; i <= last; i++ {
		var l raft.Log
		if err := get(i, &l); err != nil {
			return n, err
		}
		f.apply(&l)
		f.startCompile()
		n++
	}
	f.publishView()
	return n, nil
}

// publishView publishes the machine's view of the state as it is now
// and hands it to the publisher, with the zone set compiled for its
// spec when this node has it. Called with f.mu held, after every apply.
func (f *FSM) publishView() {
	v := f.m.Publish(f.appliedAt)
	var zs *dnsserver.ZoneSet
	if j := f.ready; j != nil && j.spec == v.Spec() {
		zs = j.zones
	}
	f.pub.offer(v, zs)
}

// publishFailed halts the replica whose answers for view v would not
// build: it keeps serving the answers it had.
func (f *FSM) publishFailed(v *View, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.halt.Load() != nil {
		return
	}
	h := &Halt{Index: v.Index(), Term: v.Term(), Reason: err.Error(), At: f.hooks.now().UTC()}
	f.halt.Store(h)
	f.logger.Error("halted: the answers of the state at this entry will not build; serving the last answers, not ready until repaired", "index", h.Index, "term", h.Term, "reason", h.Reason)
}

// Answers returns the current DNS answers, or nil before the cluster has a
// spec. It never blocks.
func (f *FSM) Answers() *dnsserver.Snapshot { return f.pub.answers() }

// PublishedIndex is the index of the view the DNS answers were last
// built from: at most AppliedIndex, and behind it while the publisher
// builds.
func (f *FSM) PublishedIndex() uint64 { return f.pub.current().index }

// Changed returns a channel closed at the next apply: the latest view's.
func (f *FSM) Changed() <-chan struct{} { return f.View().Changed() }

// Spec returns the spec in force and its version.
func (f *FSM) Spec() (*spec.Spec, uint64) {
	v := f.View()
	return v.Spec(), v.SpecVersion()
}

// Decisions returns every record's answer and why.
func (f *FSM) Decisions() []Decision { return f.View().Decisions() }

// Snapshot implements raft.FSM: it captures the published view, which
// holds all a snapshot needs and never changes, without the lock (a
// snapshot neither waits for an apply nor holds one up); Persist encodes
// it while applies go on. Raft calls it between applies, so the view is
// of the last entry applied.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	if h := f.halt.Load(); h != nil {
		// Raft would label the snapshot with its own applied index,
		// past the entries this state lacks: they would be lost.
		return nil, fmt.Errorf("controller: snapshot: %w", h.err())
	}
	return &fsmSnapshot{snap: f.m.Capture()}, nil
}

// Restore implements raft.FSM: it decodes the snapshot outside the
// lock, then swaps the state in.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	st, err := f.m.DecodeSnapshot(rc)
	if err != nil {
		return fmt.Errorf("controller: restore: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m.Restore(st)
	f.appliedAt, f.job, f.ready = time.Now(), nil, nil
	if h := f.halt.Swap(nil); h != nil {
		index, _ := f.m.Applied()
		f.logger.Warn("restored a snapshot: applying again", "was_halted_at", h.Index, "snapshot_index", index)
	}
	f.startCompile()
	f.publishView()
	return nil
}

// fsmSnapshot is a view captured for raft: immutable, so encoding it
// needs no lock.
type fsmSnapshot struct {
	snap *machine.Snapshot
}

// Persist implements raft.FSMSnapshot: it encodes the view in the
// state's format, outside the FSM lock.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	data, err := s.snap.Encode()
	if err == nil {
		_, err = sink.Write(data)
	}
	if err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("controller: snapshot: %w", err)
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *fsmSnapshot) Release() {}

// read calls fn with the state locked, for tests that need more than
// the View.
func (f *FSM) read(fn func(st *State)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m.Read(fn)
}
