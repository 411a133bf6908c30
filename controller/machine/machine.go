package machine

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// Compiler returns the compiled spec of a staged one, and its text: the
// Raft store's background compile (stage.go). It may wait for the
// compile to finish; an error halts the replica (ErrCompile).
type Compiler func(*StagedSpec) (*spec.Spec, []byte, error)

// Machine is the state machine: the State, changed only by Apply, and
// the View published after it. It is not safe for concurrent use: its
// owner (the Raft store's FSM) serialises Apply, Publish, Capture and
// Restore under its own lock. View is safe from any goroutine and never
// blocks.
type Machine struct {
	st   *State
	dirt dirt // what the applies since the last Publish changed
	view atomic.Pointer[View]
	// specJSON keeps the spec's canonical JSON between snapshots.
	specJSON *specJSONCache
}

// New returns a machine with an empty state. compile, when not nil,
// compiles staged specs (see StagedSpec); nil puts a spec in force as
// set_spec applies.
func New(compile Compiler) *Machine {
	m := &Machine{st: NewState(), specJSON: &specJSONCache{}}
	m.st.compile = compile
	m.view.Store(emptyView())
	return m
}

// View returns the latest published view.
func (m *Machine) View() *View { return m.view.Load() }

// Applied is the index and term of the last log entry the state holds:
// ahead of the View's until Publish.
func (m *Machine) Applied() (index, term uint64) { return m.st.Index, m.st.Term }

// SetApplied says the state holds the log up to index, of term: before
// Apply, the entry it applies; alone, an entry consumed without applying
// (skipped, undecodable), or going back to the entry before one that
// halted the replica.
func (m *Machine) SetApplied(index, term uint64) { m.st.Index, m.st.Term = index, term }

// Now is the state's clock: the time of the latest command applied.
func (m *Machine) Now() time.Time { return m.st.Now }

// Staged is the spec committed but not yet in force, with its text, or
// nil. The caller reads it only.
func (m *Machine) Staged() *StagedSpec { return m.st.Staged }

// Apply changes the state by one command, as the entry SetApplied
// named, and says what the command did. An error leaves the state as it
// was; one wrapping ErrUnknownCommand or ErrCompile means this replica
// cannot apply the entry and must halt, any other is a refusal every
// replica makes alike.
func (m *Machine) Apply(c *Command) (Result, error) {
	res, err := m.st.apply(c)
	if err != nil {
		return Result{}, err
	}
	m.dirt.add(touches(c))
	return res, nil
}

// Publish swaps in a view of the state as it is now, stamped with
// appliedAt (when this node applied the state's latest time, on its
// monotonic clock), and returns it. The previous view's Changed closes.
func (m *Machine) Publish(appliedAt time.Time) *View {
	prev := m.view.Load()
	v := buildView(prev, m.st, m.dirt)
	v.appliedAt = appliedAt
	m.dirt = dirt{}
	m.view.Store(v)
	close(prev.changed)
	return v
}

// Snapshot is a state captured for a snapshot: the published view,
// which holds everything a snapshot needs. It is immutable: Encode needs
// no lock.
type Snapshot struct {
	view  *View
	cache *specJSONCache
}

// Capture captures the state as of the last Publish. It reads only the
// published view, never the state, so it needs no lock and costs
// nothing: a snapshot never holds up an apply, nor waits for one.
func (m *Machine) Capture() *Snapshot {
	return &Snapshot{view: m.View(), cache: m.specJSON}
}

// Encode serialises the snapshot in the current SnapshotFormat.
func (s *Snapshot) Encode() ([]byte, error) { return encodeV2(s.view, s.cache) }

// Index is the log index the snapshot holds the state up to.
func (s *Snapshot) Index() uint64 { return s.view.index }

// DecodeSnapshot reads a snapshot into a state ready for Restore: its
// spec parsed, health, decisions and serials derived. It is the heavy
// half of a restore and takes no lock.
func DecodeSnapshot(r io.Reader) (*State, error) { return decodeSnapshotOver(r, nil) }

// DecodeSnapshot is the package's DecodeSnapshot that takes the spec
// from the machine's view instead of reading it again when the snapshot
// holds the same one (a follower sent a snapshot of the spec it has). It
// reads only the view: no lock.
func (m *Machine) DecodeSnapshot(r io.Reader) (*State, error) {
	return decodeSnapshotOver(r, m.View())
}

// decodeSnapshotOver is DecodeSnapshot, reusing cur's spec when it is
// the snapshot's (cur may be nil).
func decodeSnapshotOver(r io.Reader, cur *View) (*State, error) {
	st, sj, err := readSnapshot(r)
	if err != nil {
		return nil, err
	}
	switch {
	case st.SpecHash == "":
	case cur != nil && cur.spec != nil && cur.specHash == st.SpecHash:
		st.spec = cur.spec // immutable: shared as views share it
	case sj != nil:
		if st.spec, err = spec.DecodeCanonical(sj); err != nil {
			return nil, fmt.Errorf("the snapshot's spec: %w", err)
		}
	default:
		if st.spec, err = spec.Parse(st.SpecYAML); err != nil {
			return nil, fmt.Errorf("the snapshot's spec: %w", err)
		}
	}
	if st.Observers == nil {
		st.Observers = map[string]*ObserverRecord{}
	}
	for _, o := range st.Observers {
		if o.Verdicts == nil {
			o.Verdicts = map[string]*Verdict{}
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
	return st, nil
}

// Restore replaces the state with st, from DecodeSnapshot; the next
// Publish shows all of it.
func (m *Machine) Restore(st *State) {
	st.compile = m.st.compile
	m.st = st
	m.dirt.add(partAll, "")
}

// Read calls fn with the state, for tests and tools that need more than
// the View; the caller holds the owner's lock.
func (m *Machine) Read(fn func(st *State)) { fn(m.st) }
