package controller

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// leadership turns Raft's ordered leadership notifications into terms:
// on gaining leadership it opens a term (a Barrier, so the state machine
// has applied everything committed before, and the leader clock) and
// then starts every registered leader task under the term's context; on
// losing it, it cancels that context and waits for every task to return.
// Leadership is an event here, never polled.
//
// Raft sends on notify from its main loop and blocks until the value is
// taken (hashicorp/raft Config.NotifyCh), so one goroutine (drain) only
// takes values and cancels a lost term at once, and another (manage)
// does the waiting: stopping a term's tasks may wait on Raft, which must
// not wait on us.
type leadership struct {
	logger *slog.Logger
	// open starts a term: it returns once the state machine caught up
	// and the leader clock runs, or an error to retry after.
	open   func() error
	notify chan bool
	wake   chan struct{}
	// observed takes Raft's leader observations; moved is closed at
	// each (leaderwatch.go).
	observed chan raft.Observation
	moved    chan struct{}

	mu      sync.Mutex
	leading bool   // the last value Raft sent
	gen     uint64 // counts gains of leadership
	tasks   []leaderTask
	cur     *term
	closed  bool

	// terms counts the terms whose tasks started (tests read it).
	terms atomic.Uint64
}

// termOpenRetry is the wait between failed attempts to open a term.
const termOpenRetry = 100 * time.Millisecond

func newLeadership(logger *slog.Logger, open func() error) *leadership {
	return &leadership{logger: logger, open: open,
		// Buffered: Raft never waits on a slow reader for long.
		notify: make(chan bool, 8), wake: make(chan struct{}, 1),
		observed: make(chan raft.Observation, 16), moved: make(chan struct{})}
}

// drain takes every leadership change from Raft until done closes. Run
// it until Raft has shut down: Raft blocks on the channel otherwise.
func (l *leadership) drain(done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case v := <-l.notify:
			l.note(v)
		case <-l.observed:
			l.noteLeader()
		}
	}
}

// note records one change; a loss cancels the running term's context at
// once, before manage gets to wait for its tasks.
func (l *leadership) note(leading bool) {
	l.mu.Lock()
	l.leading = leading
	if leading {
		l.gen++
	} else if l.cur != nil {
		l.cur.cancel()
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// manage starts and stops terms as leadership comes and goes, until
// stop closes; then it stops the running term and returns.
func (l *leadership) manage(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			l.mu.Lock()
			l.closed = true
			t := l.cur
			l.cur = nil
			l.mu.Unlock()
			if t != nil {
				t.stop()
			}
			return
		case <-l.wake:
			l.reconcile()
		}
	}
}

// reconcile stops a term that is over (leadership lost, or lost and
// gained again since it began) and starts one when this node leads.
func (l *leadership) reconcile() {
	l.mu.Lock()
	t := l.cur
	over := t != nil && (!l.leading || t.gen != l.gen)
	l.mu.Unlock()
	if over {
		t.stop()
		l.logger.Info("leadership lost: leader tasks stopped")
		l.mu.Lock()
		if l.cur == t {
			l.cur = nil
		}
		l.mu.Unlock()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.leading || l.cur != nil || l.closed {
		return
	}
	t = newTerm(l.gen, l.logger)
	l.cur = t
	t.goTracked(l.begin(t))
}

// begin opens term t and then starts every task registered.
func (l *leadership) begin(t *term) func(ctx context.Context) {
	return func(ctx context.Context) {
		for {
			err := l.open()
			if err == nil {
				break
			}
			l.logger.Debug("opening the leader's term", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(termOpenRetry):
			}
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		l.logger.Info("leading: state machine caught up, leader tasks started", "tasks", len(l.tasks))
		for _, task := range l.tasks {
			t.launch(task)
		}
		t.opened = true
		l.terms.Add(1)
	}
}

// register adds a task to every term from now on, and to the running
// one if its tasks have started.
func (l *leadership) register(task leaderTask) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tasks = append(l.tasks, task)
	if l.cur != nil && l.cur.opened {
		l.cur.launch(task)
	}
}

// OnLeader registers a leader task: fn runs under the context of every
// term this node leads, from the moment the term's Barrier returned
// (the state machine holds everything committed before) until
// leadership is lost or the store closes, when the context ends and the
// store waits for fn to return. An error or a panic restarts fn with
// backoff; nil ends it until the next term. A task registered during a
// term starts at once.
func (s *Store) OnLeader(name string, fn LeaderTask) {
	s.lead.register(leaderTask{name: name, fn: fn})
}

// leaderTerms counts the terms this node led whose tasks started.
func (s *Store) leaderTerms() uint64 { return s.lead.terms.Load() }

// openTerm catches the state machine up with the log and starts the
// leader clock for the current term (leaderTime runs the Barrier).
func (s *Store) openTerm() error {
	_, err := s.leaderTime()
	return err
}

// startLeadership starts taking Raft's leadership changes and running
// terms on them.
func (s *Store) startLeadership() {
	s.leadStop, s.leadDone = make(chan struct{}), make(chan struct{})
	s.drainStop, s.drainDone = make(chan struct{}), make(chan struct{})
	obs := s.lead.watchLeader(s.raft)
	go func() {
		defer close(s.drainDone)
		defer s.raft.DeregisterObserver(obs)
		s.lead.drain(s.drainStop)
	}()
	go func() {
		defer close(s.leadDone)
		s.lead.manage(s.leadStop)
	}()
}

// stopLeaderTasks ends the running term, waiting for its tasks, and
// starts no other. Raft keeps running.
func (s *Store) stopLeaderTasks() {
	if s.leadStop == nil {
		return
	}
	close(s.leadStop)
	<-s.leadDone
	s.leadStop = nil
}

// stopDraining stops taking Raft's leadership changes; call it once Raft
// has shut down.
func (s *Store) stopDraining() {
	if s.drainStop == nil {
		return
	}
	close(s.drainStop)
	<-s.drainDone
	s.drainStop = nil
}
