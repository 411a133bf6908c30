package controller

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// testFSM is an FSM whose publisher stops when the test ends.
func testFSM(t testing.TB) *FSM {
	f := NewFSM(slog.New(slog.DiscardHandler))
	t.Cleanup(f.Close)
	return f
}

// caughtUp waits until f's DNS answers are those of the last entry it
// applied (the publisher builds them off the apply path).
func caughtUp(t testing.TB, f *FSM) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.WaitApplied(ctx, f.AppliedIndex()); err != nil {
		t.Fatal(err)
	}
}

// The FSM applies each log index once, in order: an entry at or below the
// last applied index is skipped (replayed entries handed over again), an
// undecodable one still counts as consumed, and index 0 (no Raft, as in
// Local) is never skipped.
func TestFSMAppliesEachIndexOnce(t *testing.T) {
	f := testFSM(t)
	report := func(obs string) []byte {
		b, err := (&Command{Type: CmdObserverReport, Time: time.Now(), Report: &ObserverReport{Observer: obs}}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	observers := func() int {
		n := 0
		f.read(func(st *State) { n = len(st.Observers) })
		return n
	}
	f.Apply(&raft.Log{Index: 5, Term: 2, Type: raft.LogCommand, Data: report("a")})
	f.Apply(&raft.Log{Index: 5, Term: 2, Type: raft.LogCommand, Data: report("b")}) // the same index again
	f.Apply(&raft.Log{Index: 4, Term: 2, Type: raft.LogCommand, Data: report("c")}) // an older one
	if n := observers(); n != 1 {
		t.Errorf("%d observers after index 5 twice and index 4, want 1", n)
	}
	if err, _ := f.Apply(&raft.Log{Index: 6, Term: 3, Type: raft.LogCommand, Data: []byte("{not json")}).(error); err == nil {
		t.Error("an undecodable entry applied without error")
	}
	if i, term := f.applied(); i != 6 || term != 3 {
		t.Errorf("applied (%d, %d) after the undecodable entry 6 of term 3, want (6, 3)", i, term)
	}
	f.Apply(&raft.Log{Index: 0, Type: raft.LogCommand, Data: report("d")})
	f.Apply(&raft.Log{Index: 0, Type: raft.LogCommand, Data: report("e")})
	if n := observers(); n != 3 {
		t.Errorf("%d observers after two entries without an index, want 3", n)
	}
}

// replay applies the noted entries after the snapshot, and nothing when
// the log's entry at the noted index has another term (a log wiped and
// begun again under an old note).
func TestFSMReplay(t *testing.T) {
	log := map[uint64]*raft.Log{}
	for i := uint64(1); i <= 6; i++ {
		b, _ := (&Command{Type: CmdObserverReport, Time: time.Now(), Report: &ObserverReport{Observer: fmt.Sprint("o", i)}}).Encode()
		log[i] = &raft.Log{Index: i, Term: 2, Type: raft.LogCommand, Data: b}
	}
	get := func(i uint64, l *raft.Log) error {
		e, ok := log[i]
		if !ok {
			return raft.ErrLogNotFound
		}
		*l = *e
		return nil
	}
	f := testFSM(t)
	if n, err := f.replay(2, 5, 9, get); err == nil || n != 0 || f.AppliedIndex() != 0 {
		t.Errorf("a note of another term: %d applied, %v", n, err)
	}
	n, err := f.replay(2, 5, 2, get) // entries 1-2 are in the snapshot
	if err != nil || n != 3 {
		t.Fatalf("replay: %d applied, %v; want 3", n, err)
	}
	var obs []string
	f.read(func(st *State) {
		for o := range st.Observers {
			obs = append(obs, o)
		}
	})
	slices.Sort(obs)
	if strings.Join(obs, ",") != "o3,o4,o5" || f.AppliedIndex() != 5 {
		t.Errorf("observers %v at index %d, want o3-o5 at 5", obs, f.AppliedIndex())
	}
}
