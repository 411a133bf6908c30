package chaos

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// OpKind is an API operation the suite makes.
type OpKind int

// The operations: overrides on the app record's pools, spec applies,
// incidents, and a final read of all of it.
const (
	OpDrain OpKind = iota
	OpUndrain
	OpPin
	OpRelease
	OpSpec
	OpIncident
	OpRead
)

var opNames = [...]string{"drain", "undrain", "pin", "release", "spec", "incident", "read"}

// OpInput is an operation and its argument: a pool index, a TTL or an
// incident number.
type OpInput struct {
	Kind OpKind
	Arg  int
	Node string
}

// Outcome is how an operation ended.
type Outcome int

// Outcomes: applied, refused as not found (undrain, release), refused for
// another reason (changed nothing), or unknown (no answer, 5xx: it may
// have been applied).
const (
	Applied Outcome = iota
	NotFound
	Refused
	Unknown
)

// OpOutput is what the operation returned.
type OpOutput struct {
	Outcome Outcome
	Version int   // spec: the version in force after it; read: the version
	Changed bool  // spec: whether it changed the spec
	State   State // read: what the node holds
	Detail  string
}

// State is the model of the replicated state the operations touch.
type State struct {
	Drained   uint8 // bit i: pool app-dc(i+1) drained
	Pin       int   // pool index pinned, -1 none
	Version   int   // spec version
	TTL       int   // app's TTL in the spec in force
	Incidents uint64
	// Extra is how many more versions there may be than Version: applies
	// of the spec in force without an answer, each of which may have
	// committed (a node that cannot catch up leaves the decision to the
	// commit, and a commit of the text in force makes a new version).
	Extra int
}

// model is porcupine's model of the state.
func model(init State) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return init },
		Step: func(st, in, out any) (bool, any) {
			return step(st.(State), in.(OpInput), out.(OpOutput))
		},
		DescribeOperation: func(in, out any) string {
			i, o := in.(OpInput), out.(OpOutput)
			return fmt.Sprintf("%s(%d)@%s -> %d v%d %s", opNames[i.Kind], i.Arg, i.Node, o.Outcome, o.Version, o.Detail)
		},
		DescribeState: func(st any) string { return fmt.Sprintf("%+v", st) },
	}
}

// step is one operation on the model: whether out is possible from s, and
// the state after.
func step(s State, in OpInput, out OpOutput) (bool, State) {
	if out.Outcome == Refused {
		return true, s
	}
	unknown := out.Outcome == Unknown
	switch in.Kind {
	case OpDrain:
		s.Drained |= 1 << in.Arg
		return true, s
	case OpUndrain:
		bit := uint8(1) << in.Arg
		if unknown || out.Outcome == Applied {
			ok := unknown || s.Drained&bit != 0
			s.Drained &^= bit
			return ok, s
		}
		return s.Drained&bit == 0, s
	case OpPin:
		s.Pin = in.Arg
		return true, s
	case OpRelease:
		if unknown || out.Outcome == Applied {
			ok := unknown || s.Pin >= 0
			s.Pin = -1
			return ok, s
		}
		return s.Pin < 0, s
	case OpSpec:
		return stepSpec(s, in, out)
	case OpIncident:
		s.Incidents |= 1 << in.Arg
		return true, s
	case OpRead:
		got := out.State
		ok := got.Version >= s.Version && got.Version <= s.Version+s.Extra
		got.Version, got.Extra = s.Version, s.Extra
		if ok && got == s {
			s.Version = out.State.Version
			return true, s
		}
		return false, s
	}
	return false, s
}

// stepSpec is a spec apply. One whose spec is in force already either
// finds it so (changed false, the version in force) or, from a node that
// could not catch up with the leader, commits it: that makes the next
// version, or joins a copy of the same spec still staged (controller's
// stage: "already on its way", its version); both say changed. Without
// an answer it may have done either.
func stepSpec(s State, in OpInput, out OpOutput) (bool, State) {
	unknown := out.Outcome == Unknown
	within := func(lo, hi int) bool { return out.Version >= lo && out.Version <= hi }
	if s.TTL == in.Arg {
		if unknown {
			s.Extra++
			return true, s
		}
		hi := s.Version + s.Extra
		if out.Changed {
			hi++
		}
		ok := within(s.Version, hi)
		s.Version = max(s.Version, out.Version)
		return ok, s
	}
	s.TTL = in.Arg
	if unknown {
		s.Version++
		return true, s
	}
	ok := out.Changed && within(s.Version+1, s.Version+1+s.Extra)
	s.Version = max(s.Version+1, out.Version)
	return ok, s
}

// History records operations as they are called and return.
type History struct {
	mu    sync.Mutex
	start time.Time
	ops   []porcupine.Operation
}

// NewHistory starts a history at start.
func NewHistory(start time.Time) *History { return &History{start: start} }

// Record adds an operation called at call that returned out at ret. An
// unknown outcome returns at infinity: it may take effect at any time
// after its call, or never.
func (h *History) Record(client int, in OpInput, out OpOutput, call, ret time.Time) {
	r := int64(ret.Sub(h.start))
	if out.Outcome == Unknown {
		r = math.MaxInt64
	}
	h.mu.Lock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: int64(call.Sub(h.start)), Output: out, Return: r})
	h.mu.Unlock()
}

// Ops is the recorded operations.
func (h *History) Ops() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]porcupine.Operation(nil), h.ops...)
}

// Linearizable checks the history against the model from init. It
// returns an error describing a violation, nil when the history is
// linearizable; a check that times out counts as passed and says so in
// note.
func (h *History) Linearizable(init State, timeout time.Duration) (note string, err error) {
	res := porcupine.CheckOperationsTimeout(model(init), h.Ops(), timeout)
	switch res {
	case porcupine.Ok:
		return "", nil
	case porcupine.Unknown:
		return "linearizability check timed out", nil
	}
	return "", fmt.Errorf("history of %d operations is not linearizable: %s", len(h.Ops()), h.describe())
}

func (h *History) describe() string {
	s := ""
	for _, op := range h.Ops() {
		in, out := op.Input.(OpInput), op.Output.(OpOutput)
		ret := "inf"
		if op.Return != math.MaxInt64 {
			ret = time.Duration(op.Return).Round(time.Millisecond).String()
		}
		s += fmt.Sprintf("\n  c%d [%s, %s] %s(%d)@%s -> outcome %d v%d changed=%v %+v %s", op.ClientId,
			time.Duration(op.Call).Round(time.Millisecond), ret, opNames[in.Kind], in.Arg, in.Node, out.Outcome, out.Version, out.Changed, out.State, out.Detail)
	}
	return s
}
