package health

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed3787e6f1/detour/spec"
)

// target is one endpoint of one pool with its checker and state. The
// schedule hands it to one worker at a time, so a target never has two
// probes in flight.
type target struct {
	id       TargetID
	check    spec.Check // as given, to see whether an Update changed it
	probe    string
	checker  Checker
	interval time.Duration
	timeout  time.Duration
	latency  prometheus.Observer

	// Guarded by Engine.mu.
	pendingFirst bool

	// Guarded by schedule.mu.
	due     time.Time          // when the next probe is due, or the one in flight was
	gen     uint64             // of t's live entry in the schedule's heap
	queued  bool               // waiting in the schedule
	busy    bool               // a probe is in flight
	poked   bool               // probe again as soon as the one in flight ends
	retired bool               // left the spec or was replaced: never probed again
	stop    context.CancelFunc // cuts the probe in flight short

	mu     sync.Mutex
	gone   bool // retired: record nothing more
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

// record applies r to t's rise/fall state and reports a verdict change.
// A retired target records nothing: the target that replaced it copied
// its state when it was retired, and must not miss a change.
func (e *Engine) record(t *target, r Result, at time.Time) {
	t.mu.Lock()
	if t.gone {
		t.mu.Unlock()
		return
	}
	from := t.rf.verdict
	changed := t.rf.observe(r.Up, t.check.Rise, t.check.Fall)
	s := &t.status
	s.LastUp, s.LastReason, s.LastLatency, s.LastAt, s.Streak = r.Up, r.Reason, r.Latency, at, t.rf.streak
	if changed {
		s.Verdict, s.Since = t.rf.verdict, at
	}
	to := t.rf.verdict
	settled := t.rf.settled(t.check.Rise, t.check.Fall)
	t.mu.Unlock()
	if r.Class == "" {
		r.Class = ClassError
		if r.Up {
			r.Class = ClassOK
		}
	}
	t.latency.Observe(r.Latency.Seconds())
	e.metrics.results.WithLabelValues(t.check.Type, r.Class).Inc()
	if !changed {
		if from == Unknown && settled {
			e.firstVerdict(t) // flapping from the start: the first round waits no longer
		}
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
