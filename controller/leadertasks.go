package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// ErrTaskPanicked wraps the value a leader task panicked with.
var ErrTaskPanicked = errors.New("leader task panicked")

// LeaderTask is work only the leader does: it runs from the start of each
// term this node leads, once the term's Barrier has caught the state
// machine up with the log, until ctx ends when the term does. Returning
// nil ends it for the term; an error or a panic restarts it with backoff.
type LeaderTask func(ctx context.Context) error

// Backoff between restarts of a failing leader task: doubling from
// taskMinBackoff up to taskMaxBackoff, and starting over after a run
// that lasted taskHealthyRun.
const (
	taskMinBackoff = 100 * time.Millisecond
	taskMaxBackoff = 10 * time.Second
	taskHealthyRun = time.Minute
)

type leaderTask struct {
	name string
	fn   LeaderTask
}

// term is the leader tasks of one leadership term: they share its
// context, and stop ends them all and waits for every one.
type term struct {
	gen    uint64
	ctx    context.Context
	cancel context.CancelFunc
	logger *slog.Logger
	// opened is set, under the leadership's lock, once the tasks
	// started: a task registered later joins at once.
	opened bool

	mu      sync.Mutex
	stopped bool
	wg      sync.WaitGroup
}

func newTerm(gen uint64, logger *slog.Logger) *term {
	ctx, cancel := context.WithCancel(context.Background())
	return &term{gen: gen, ctx: ctx, cancel: cancel, logger: logger}
}

// goTracked runs fn in a goroutine the term waits for; it does nothing
// once the term stopped.
func (t *term) goTracked(fn func(ctx context.Context)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		fn(t.ctx)
	}()
}

// launch starts one task under the term.
func (t *term) launch(task leaderTask) {
	t.goTracked(func(ctx context.Context) { runTask(ctx, task, t.logger) })
}

// stop cancels the term's context and waits until every task returned.
func (t *term) stop() {
	t.mu.Lock()
	t.stopped = true
	t.mu.Unlock()
	t.cancel()
	t.wg.Wait()
}

// runTask runs task until it returns nil or ctx ends, restarting it
// with backoff after an error or a panic.
func runTask(ctx context.Context, task leaderTask, logger *slog.Logger) {
	backoff := taskMinBackoff
	for {
		began := time.Now()
		err := callTask(ctx, task.fn)
		if err == nil || ctx.Err() != nil {
			return
		}
		if time.Since(began) >= taskHealthyRun {
			backoff = taskMinBackoff
		}
		logger.Error("leader task failed; restarting it", "task", task.name, "retry_in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, taskMaxBackoff)
	}
}

// callTask calls fn, turning a panic into an error that keeps the stack.
func callTask(ctx context.Context, fn LeaderTask) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v\n%s", ErrTaskPanicked, r, debug.Stack())
		}
	}()
	return fn(ctx)
}
