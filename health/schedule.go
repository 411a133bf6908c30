package health

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// schedule is the queue of targets waiting for their next probe, ordered
// by due time. One dispatcher goroutine hands due targets to a pool of
// workers that grows up to the concurrency limit.
//
// A goroutine and a timer per target cost more than the probes themselves
// at 10,000 targets: each probe grew its goroutine's stack again after the
// garbage collector had shrunk it while the goroutine slept. Workers keep
// their stacks warm and the heap replaces 10,000 timers with one.
//
// A target is queued, or in flight, or retired; never two of these, so it
// never has two probes in flight. The heap holds due times by value and
// is never searched: a target moved (poked) or retired leaves its old
// entry behind, which is dropped when it reaches the top because its
// generation is stale.
type schedule struct {
	mu    sync.Mutex
	queue []entry       // a binary min-heap by at
	wake  chan struct{} // the head of the queue changed
	epoch time.Time     // due times are kept as offsets from it: cheap to compare
}

// entry is one place in the queue: t is due at epoch+at, if t.gen is
// still gen.
type entry struct {
	at  time.Duration
	gen uint64
	t   *target
}

func newSchedule() *schedule { return &schedule{wake: make(chan struct{}, 1), epoch: time.Now()} }

// add queues t for a first probe at a random point within its interval,
// so that targets spread out.
func (s *schedule) add(t *target, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.retired || t.queued || t.busy {
		return
	}
	s.push(t, now.Add(rand.N(t.interval)))
}

// push queues t at due, replacing its place in the queue if it had one,
// and wakes the dispatcher when t is the new head. s.mu is held.
func (s *schedule) push(t *target, due time.Time) {
	t.gen++
	t.due, t.queued = due, true
	e := entry{at: due.Sub(s.epoch), gen: t.gen, t: t}
	s.queue = append(s.queue, e)
	i := len(s.queue) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if s.queue[parent].at <= e.at {
			break
		}
		s.queue[i] = s.queue[parent]
		i = parent
	}
	s.queue[i] = e
	if i == 0 {
		s.signal()
	}
}

// pop removes the head of the queue. s.mu is held.
func (s *schedule) pop() entry {
	q := s.queue
	head := q[0]
	n := len(q) - 1
	last := q[n]
	q[n] = entry{}
	q = q[:n]
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && q[r].at < q[c].at {
			c = r
		}
		if last.at <= q[c].at {
			break
		}
		q[i] = q[c]
		i = c
	}
	if n > 0 {
		q[i] = last
	}
	s.queue = q
	return head
}

func (s *schedule) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// retire takes t out of the schedule for good and cuts its probe in flight
// short, if any. It reports whether t is idle: no worker has it, and none
// will.
func (s *schedule) retire(t *target) (idle bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.retired, t.queued = true, false
	if t.stop != nil {
		t.stop()
	}
	return !t.busy
}

// poke makes t due now, or right after its probe in flight.
func (s *schedule) poke(t *target) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case t.retired:
	case t.busy:
		t.poked = true
	case t.queued:
		s.push(t, time.Now())
	}
}

// due pops the targets due at now, marked busy, and returns when the next
// one is due (zero when the queue is empty).
func (s *schedule) due(now time.Time, out []*target) ([]*target, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := now.Sub(s.epoch)
	for len(s.queue) > 0 && s.queue[0].at <= at {
		e := s.pop()
		if t := e.t; t.queued && t.gen == e.gen {
			t.queued, t.busy = false, true
			out = append(out, t)
		}
	}
	if len(s.queue) == 0 {
		return out, time.Time{}
	}
	return out, s.epoch.Add(s.queue[0].at)
}

// begin notes the cancel function of t's probe; it reports false when t
// was retired meanwhile, and the probe should not run.
func (s *schedule) begin(t *target, stop context.CancelFunc) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.retired {
		return false
	}
	t.stop = stop
	return true
}

// done queues t again after a probe that was due at t.due: one interval
// later, or at once when it was poked or the schedule fell behind. It
// reports whether t was retired meanwhile.
func (s *schedule) done(t *target, now time.Time) (retired bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.busy, t.stop = false, nil
	if t.retired {
		return true
	}
	next := t.due.Add(t.interval)
	if t.poked || next.Before(now) {
		next, t.poked = now, false
	}
	s.push(t, next)
	return false
}

// clear empties the queue when Run ends and returns the targets it held;
// they keep their state and are queued again by the next Run.
func (s *schedule) clear() []*target {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*target
	for i, e := range s.queue {
		if e.t.queued {
			out = append(out, e.t)
		}
		e.t.queued = false
		s.queue[i] = entry{}
	}
	s.queue = s.queue[:0]
	return out
}

// dispatch hands due targets to workers until ctx is done. Workers start
// as needed, up to limit; when all are busy, due targets wait for one (the
// concurrency limit), and a probe's timeout starts only when a worker
// takes it.
func (e *Engine) dispatch(ctx context.Context, limit int) {
	work := make(chan *target)
	workers := 0
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var batch []*target
	for {
		var next time.Time
		batch, next = e.sched.due(time.Now(), batch[:0])
		for i, t := range batch {
			select {
			case work <- t:
				continue
			default:
			}
			if workers < limit {
				workers++
				e.wg.Add(1)
				go e.worker(ctx, t, work)
				continue
			}
			select {
			case work <- t:
			case <-ctx.Done():
				for _, t := range batch[i:] { // never probed: not busy any more
					if e.sched.done(t, time.Now()) {
						release(t.checker)
					}
				}
				return
			}
		}
		clear(batch)
		wait := time.Hour
		if !next.IsZero() {
			wait = time.Until(next)
		}
		timer.Reset(max(wait, 0))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-e.sched.wake:
		}
	}
}

// worker probes the targets it is handed until ctx is done.
func (e *Engine) worker(ctx context.Context, t *target, work <-chan *target) {
	defer e.wg.Done()
	for {
		e.probe(ctx, t)
		select {
		case t = <-work:
		case <-ctx.Done():
			return
		}
	}
}

// probe runs one check of t and records its result, then queues t again.
// A probe cut short by shutdown or by t's retirement records nothing: it
// says nothing about the target.
func (e *Engine) probe(ctx context.Context, t *target) {
	start := time.Now()
	d, deadlined := t.checker.(deadliner)
	// A deadliner gets no timer and no context per probe; a retired
	// target's probe of it runs out its deadline and is not recorded.
	pctx, cancel := ctx, context.CancelFunc(nil)
	if !deadlined {
		pctx, cancel = context.WithTimeout(ctx, t.timeout)
		defer cancel()
	}
	if !e.sched.begin(t, cancel) {
		e.sched.done(t, start)
		release(t.checker)
		return
	}
	e.metrics.inFlight.Inc()
	var r Result
	if deadlined {
		r = d.CheckBy(ctx, start.Add(t.timeout))
	} else {
		r = t.checker.Check(pctx)
	}
	end := time.Now()
	r.Latency = end.Sub(start)
	e.metrics.inFlight.Dec()
	if ctx.Err() == nil {
		e.record(t, r, end)
	}
	if e.sched.done(t, end) {
		release(t.checker)
	}
}
