package controller

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// WaitApplied returns once the replica has applied the index, gives up
// when its context ends, and says so at once when the replica halted
// short of it.
func TestWaitApplied(t *testing.T) {
	f := testFSM(t)
	f.hooks.BeforeApply = func(c *Command) {
		if c.Report.Observer == "poison" {
			panic("simulated")
		}
	}
	entry := func(i uint64, obs string) *raft.Log {
		b, _ := (&Command{Type: CmdObserverReport, Time: time.Now(), Report: &ObserverReport{Observer: obs}}).Encode()
		return &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: b}
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := f.WaitApplied(short, 3); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting for an entry that never comes: %v", err)
	}

	ctx, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	done := make(chan error, 1)
	go func() { done <- f.WaitApplied(ctx, 3) }()
	for i := uint64(1); i <= 3; i++ {
		select {
		case err := <-done:
			t.Fatalf("returned %v before entry 3 applied (at %d)", err, i)
		default:
		}
		f.Apply(entry(i, "a"))
	}
	if err := <-done; err != nil {
		t.Fatalf("entry 3 applied: %v", err)
	}

	f.Apply(entry(4, "poison"))
	start := time.Now()
	if err := f.WaitApplied(ctx, 5); !errors.Is(err, ErrHalted) {
		t.Fatalf("waiting on a halted replica: %v, want ErrHalted", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("a halted replica made the caller wait %s", waited)
	}
}
