package health

import (
	"container/heap"
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
// A target is in the heap, or in flight, or retired; never two of these,
// so it never has two probes in flight.
type schedule struct {
	mu    sync.Mutex
	queue targetHeap
	wake  chan struct{} // the head of the queue changed
	epoch time.Time     // due times are kept as offsets from it: cheap to compare
}

func newSchedule() *schedule { return &schedule{wake: make(chan struct{}, 1), epoch: time.Now()} }

// add queues t for a first probe at a random point within its interval,
// so that targets spread out.
func (s *schedule) add(t *target, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.retired || t.index >= 0 || t.busy {
		return
	}
	s.push(t, now.Add(rand.N(t.interval)))
}

// push queues t at due and wakes the dispatcher when t is the new head.
// s.mu is held.
func (s *schedule) push(t *target, due time.Time) {
	t.due, t.at = due, due.Sub(s.epoch)
	heap.Push(&s.queue, t)
	if t.index == 0 {
		s.signal()
	}
}

func (s *schedule) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// retire takes t out of the schedule for good and cuts its probe in flight
// short, if any.
func (s *schedule) retire(t *target) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.retired = true
	if t.index >= 0 {
		heap.Remove(&s.queue, t.index)
	}
	if t.stop != nil {
		t.stop()
	}
}

// poke makes t due now, or right after its probe in flight.
func (s *schedule) poke(t *target) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case t.retired:
	case t.busy:
		t.poked = true
	case t.index >= 0:
		t.due = time.Now()
		t.at = t.due.Sub(s.epoch)
		heap.Fix(&s.queue, t.index)
		if t.index == 0 {
			s.signal()
		}
	}
}

// due pops the targets due at now, marked busy, and returns when the next
// one is due (zero when the queue is empty).
func (s *schedule) due(now time.Time, out []*target) ([]*target, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := now.Sub(s.epoch)
	for len(s.queue) > 0 && s.queue[0].at <= at {
		t := heap.Pop(&s.queue).(*target)
		t.busy = true
		out = append(out, t)
	}
	if len(s.queue) == 0 {
		return out, time.Time{}
	}
	return out, s.queue[0].due
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
// later, or at once when it was poked or the schedule fell behind.
func (s *schedule) done(t *target, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.busy, t.stop = false, nil
	if t.retired {
		return
	}
	next := t.due.Add(t.interval)
	if t.poked || next.Before(now) {
		next, t.poked = now, false
	}
	s.push(t, next)
}

// clear empties the queue when Run ends; targets keep their state and are
// queued again by the next Run.
func (s *schedule) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.queue {
		t.index = -1
	}
	s.queue = s.queue[:0]
}

// targetHeap is a container/heap of targets by due time.
type targetHeap []*target

func (h targetHeap) Len() int           { return len(h) }
func (h targetHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h targetHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *targetHeap) Push(x any) {
	t := x.(*target)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *targetHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
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
					e.sched.done(t, time.Now())
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
	pctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	if !e.sched.begin(t, cancel) {
		e.sched.done(t, time.Now())
		return
	}
	e.metrics.inFlight.Inc()
	start := time.Now()
	r := t.checker.Check(pctx)
	end := time.Now()
	r.Latency = end.Sub(start)
	e.metrics.inFlight.Dec()
	if ctx.Err() == nil && !e.sched.retired(t) {
		e.record(t, r, end)
	}
	e.sched.done(t, end)
}

// retired reports whether t left the schedule.
func (s *schedule) retired(t *target) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return t.retired
}
