package health

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed3787e6f1/detour/spec"
)

// target is one endpoint of one pool with its checker and state. Its loop
// is the only goroutine that probes it, so a target never has two probes
// in flight.
type target struct {
	id       TargetID
	check    spec.Check // as given, to see whether an Update changed it
	probe    string
	checker  Checker
	interval time.Duration
	timeout  time.Duration
	latency  prometheus.Observer
	poke     chan struct{} // asks for a probe now (a heartbeat arrived)

	// Guarded by Engine.mu.
	cancel       context.CancelFunc
	pendingFirst bool

	mu     sync.Mutex
	rf     riseFall
	status Status
}

func (e *Engine) newTarget(id TargetID, c spec.Check, probe string, build func(Target) Checker) *target {
	return &target{
		id:       id,
		check:    c,
		probe:    probe,
		checker:  build(Target{ID: id, Probe: probe}),
		interval: c.Interval.D(),
		timeout:  c.Timeout.D(),
		latency:  e.metrics.latency.WithLabelValues(c.Type),
		poke:     make(chan struct{}, 1),
		status:   Status{Target: id, Check: c.Name, Type: c.Type, Probe: probe},
	}
}

// inherit carries the verdict of the target t replaces.
func (t *target) inherit(old *target) {
	s := old.snapshot()
	t.rf.verdict = s.Verdict
	t.status.Verdict, t.status.Since = s.Verdict, s.Since
}

func (t *target) snapshot() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.status
}

// loop probes t once per interval, the first time at a random point within
// the first interval so that targets spread out, until ctx is done.
func (e *Engine) loop(ctx context.Context, t *target) {
	timer := time.NewTimer(rand.N(t.interval))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-t.poke:
			timer.Stop()
		}
		start := time.Now()
		if !e.probe(ctx, t) {
			return
		}
		timer.Reset(max(0, t.interval-time.Since(start)))
	}
}

// probe runs one check under the global limit and records its result. It
// returns false when ctx ended, and then records nothing: a probe cut
// short by shutdown says nothing about the target.
func (e *Engine) probe(ctx context.Context, t *target) bool {
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	e.metrics.inFlight.Inc()
	pctx, cancel := context.WithTimeout(ctx, t.timeout)
	start := time.Now()
	r := t.checker.Check(pctx)
	r.Latency = time.Since(start)
	cancel()
	e.metrics.inFlight.Dec()
	<-e.sem
	if ctx.Err() != nil {
		return false
	}
	e.record(t, r, start.Add(r.Latency))
	return true
}

// record applies r to t's rise/fall state and reports a verdict change.
func (e *Engine) record(t *target, r Result, at time.Time) {
	if r.Class == "" {
		r.Class = map[bool]string{true: ClassOK, false: ClassError}[r.Up]
	}
	t.latency.Observe(r.Latency.Seconds())
	e.metrics.results.WithLabelValues(t.check.Type, r.Class).Inc()

	t.mu.Lock()
	from := t.rf.verdict
	changed := t.rf.observe(r.Up, t.check.Rise, t.check.Fall)
	s := &t.status
	s.LastUp, s.LastReason, s.LastLatency, s.LastAt, s.Streak = r.Up, r.Reason, r.Latency, at, t.rf.streak
	if changed {
		s.Verdict, s.Since = t.rf.verdict, at
	}
	to := t.rf.verdict
	t.mu.Unlock()
	if !changed {
		return
	}
	e.metrics.changes.WithLabelValues(to.String()).Inc()
	level := e.log.Info
	if to == Down {
		level = e.log.Warn
	}
	level("target verdict changed", "pool", t.id.Pool, "address", t.id.Address, "check", t.check.Name,
		"from", from.String(), "to", to.String(), "reason", r.Reason, "latency", r.Latency)
	e.sink.Transition(Transition{Target: t.id, Check: t.check.Name, From: from, To: to, Reason: r.Reason, Latency: r.Latency, At: at})
	if from == Unknown {
		e.firstVerdict(t)
	}
}

func unsupported(typ string) error {
	names := make([]string, 0, 8)
	for k := range kinds() {
		names = append(names, k)
	}
	sort.Strings(names)
	return fmt.Errorf("%w: %q (types: %s)", ErrCheckType, typ, strings.Join(names, ", "))
}
