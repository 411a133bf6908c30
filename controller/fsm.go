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
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/spec"
)

// bigZoneNames is the zone size from which a spec change returns freed
// memory to the OS at once.
const bigZoneNames = 100_000

// FSM adapts the State to Raft and publishes the DNS answers that follow
// from it. Apply is deterministic; publishing is a pointer swap.
type FSM struct {
	logger *slog.Logger

	// mu is held by Apply, Restore and Snapshot only: readers use the
	// View, published after every apply, and never take it.
	mu    sync.Mutex
	st    *State
	zones *dnsserver.ZoneSet
	dirt  dirt // what the applies since the last view changed
	// job compiles the staged spec; ready is the compile of the spec in
	// force, whose zone set publish takes (stage.go).
	job, ready *compileJob

	view    atomic.Pointer[View]
	offered atomic.Pointer[offered] // see FSM.offer
	answers atomic.Pointer[dnsserver.Snapshot]
	onBeat  atomic.Pointer[func(check, endpoint string, at time.Time)]

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

// NewFSM returns an FSM with empty state.
func NewFSM(logger *slog.Logger) *FSM {
	f := &FSM{logger: logger, st: NewState()}
	f.st.compile = f.compiled
	f.view.Store(emptyView())
	return f
}

// View returns the latest read view. It never blocks.
func (f *FSM) View() *View { return f.view.Load() }

// timeNow is the state's time carried forward by the time passed since
// this node applied it; ok is false while the state has no time.
func (f *FSM) timeNow() (t time.Time, ok bool) {
	v := f.View()
	if v.now.IsZero() {
		return time.Time{}, false
	}
	return v.now.Add(time.Since(v.appliedAt)), true
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
	if l.Index != 0 && l.Index <= f.st.Index {
		return nil
	}
	if l.Index != 0 && slices.Contains(f.hooks.Skip, l.Index) {
		f.st.Index, f.st.Term = l.Index, l.Term
		f.logger.Warn("skipping a log entry as the operator asked (--skip-entry)", "index", l.Index, "term", l.Term)
		return fmt.Errorf("%w: entry %d", ErrSkipped, l.Index)
	}
	prevIndex, prevTerm := f.st.Index, f.st.Term
	defer func() {
		if r := recover(); r != nil {
			resp = f.haltAt(l, prevIndex, prevTerm, fmt.Sprintf("panic: %v", r), debug.Stack())
		}
	}()
	if l.Index != 0 {
		f.st.Index, f.st.Term = l.Index, l.Term
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
	specV, before, nowBefore := f.st.SpecVersion, f.st.decisions, f.st.Now
	res, err := f.st.apply(c)
	if errors.Is(err, errUnknownCommand) || errors.Is(err, errCompile) {
		return f.haltAt(l, prevIndex, prevTerm, err.Error(), nil)
	} else if err != nil {
		return err
	}
	f.dirt.add(touches(c))
	if !f.st.Now.Equal(nowBefore) {
		f.appliedAt = time.Now()
	}
	if c.Type == CmdHeartbeat {
		if fn := f.onBeat.Load(); fn != nil {
			// The engines judge a beat's age on their own clock: it
			// was committed just now.
			(*fn)(c.Beat.Check, c.Beat.Endpoint, f.hooks.now())
		}
	}
	if f.st.SpecVersion != specV || !sameDecisions(before, f.st.decisions) || f.answers.Load() == nil {
		if err := f.publish(f.st.SpecVersion != specV); err != nil {
			return f.haltAt(l, prevIndex, prevTerm, err.Error(), nil)
		}
	}
	return res
}

// AppliedIndex is the Raft index of the last entry applied.
func (f *FSM) AppliedIndex() uint64 {
	index, _ := f.applied()
	return index
}

// applied is the index and term of the last entry applied.
func (f *FSM) applied() (index, term uint64) {
	v := f.View()
	return v.index, v.term
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
	for i := max(from, f.st.Index) + 1; i <= last; i++ {
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

// publish rebuilds the answer snapshot. Called with mu held. An error
// leaves the answers as they were.
func (f *FSM) publish(specChanged bool) error {
	if f.st.spec == nil {
		return nil
	}
	if specChanged || f.zones == nil {
		zs := f.readyZones()
		if zs == nil {
			var err error
			if zs, err = dnsserver.NewZoneSet(f.st.spec); err != nil {
				return fmt.Errorf("compile zones: %w", err)
			}
		}
		f.zones = zs
		if zs.Names() >= bigZoneNames {
			// Compiling a big spec leaves hundreds of megabytes of
			// garbage that the runtime would keep mapped for minutes;
			// hand it back now, off the apply path.
			go debug.FreeOSMemory()
		}
	}
	snap, err := dnsserver.BuildSerials(f.zones, DynamicAnswers(f.st.decisions), f.st.serialNumbers(), f.st.Now)
	if err != nil {
		return fmt.Errorf("build answers: %w", err)
	}
	f.answers.Store(snap)
	return nil
}

func sameDecisions(a, b []Decision) bool {
	return slices.EqualFunc(a, b, func(x, y Decision) bool {
		return x.Name == y.Name && x.Type == y.Type && x.SameAnswer(y) && x.SameRecords(y)
	})
}

// Answers returns the current DNS answers, or nil before the cluster has a
// spec. It never blocks.
func (f *FSM) Answers() *dnsserver.Snapshot { return f.answers.Load() }

// Changed returns a channel closed at the next apply: the latest view's.
func (f *FSM) Changed() <-chan struct{} { return f.View().changed }

// read calls fn with the state locked, for the state machine's own
// use; everything else reads the View.
func (f *FSM) read(fn func(st *State)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.st)
}

// Spec returns the spec in force and its version.
func (f *FSM) Spec() (*spec.Spec, uint64) {
	v := f.View()
	return v.spec, v.specVersion
}

// Decisions returns every record's answer and why.
func (f *FSM) Decisions() []Decision { return f.View().Decisions() }

// Snapshot implements raft.FSM: it captures the view (and the IDs of
// the commands applied lately, which the view leaves out) under the
// lock; Persist encodes them outside it, while applies go on.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h := f.halt.Load(); h != nil {
		// Raft would label the snapshot with its own applied index,
		// past the entries this state lacks: they would be lost.
		return nil, fmt.Errorf("controller: snapshot: %w", h.err())
	}
	return &fsmSnapshot{view: f.View(), extra: snapshotExtraOf(f.st)}, nil
}

// Restore implements raft.FSM.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	st, err := decodeSnapshot(rc)
	if err != nil {
		return fmt.Errorf("controller: restore: %w", err)
	}
	if len(st.SpecYAML) > 0 {
		s, err := spec.Parse(st.SpecYAML)
		if err != nil {
			return fmt.Errorf("controller: restore: the snapshot's spec: %w", err)
		}
		st.spec = s
	}
	for _, m := range []*map[string]*ObserverRecord{&st.Observers} {
		if *m == nil {
			*m = map[string]*ObserverRecord{}
		}
	}
	if st.Overrides == nil {
		st.Overrides = map[string]*Override{}
	}
	if st.Members == nil {
		st.Members = map[string]*Member{}
	}
	st.derive(false)
	st.adoptSerials()
	f.mu.Lock()
	defer f.mu.Unlock()
	st.compile = f.compiled
	f.st, f.zones, f.appliedAt, f.job, f.ready = st, nil, time.Now(), nil, nil
	f.dirt.add(partAll, "")
	if h := f.halt.Swap(nil); h != nil {
		f.logger.Warn("restored a snapshot: applying again", "was_halted_at", h.Index, "snapshot_index", st.Index)
	}
	if err := f.publish(true); err != nil {
		// Failing here would stop the node from starting at all.
		f.haltAt(&raft.Log{Index: st.Index, Term: st.Term}, st.Index, st.Term, "restore: "+err.Error(), nil)
	}
	f.startCompile()
	f.publishView()
	return nil
}

// fsmSnapshot is a view captured for raft: immutable, so encoding it
// needs no lock.
type fsmSnapshot struct {
	view  *View
	extra snapshotExtra
}

// Persist implements raft.FSMSnapshot: it encodes the view in the
// state's format, outside the FSM lock.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	data, err := encodeSnapshot(s.view.state(s.extra))
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
