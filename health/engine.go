package health

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed3787e6f1/detour/spec"
)

// DefaultConcurrency is the default limit of probes in flight at once.
const DefaultConcurrency = 512

// Options tune an Engine. The zero value is usable.
type Options struct {
	// Concurrency caps probes in flight across all targets; 0 means
	// DefaultConcurrency. A probe waits for a slot before its timeout
	// starts.
	Concurrency int
	// Registerer receives the engine's metrics; nil leaves them
	// unregistered. The global registry is never used implicitly.
	Registerer prometheus.Registerer
	// Now is the clock for heartbeat ages and certificate expiry; nil
	// means time.Now.
	Now func() time.Time
	// SourceIP, when set, is the local address every probe leaves from:
	// probes should come from where this node's datacenter reaches the
	// world (and tests tell observers apart by it).
	SourceIP net.IP
	// AllowNetworks are networks probes may connect to although they are
	// forbidden by default (spec.ForbiddenTarget: loopback, link-local,
	// cloud metadata, unspecified, multicast). Empty allows none of them.
	AllowNetworks []netip.Prefix

	// Check headers from the environment (security): Getenv reads the
	// variables a check's headers_env names, only those Env allows for
	// check headers (spec.EnvCheck: DETOUR_CHECK_ by default, never a
	// provider's or a notification's variable). Nil Getenv means
	// os.Getenv.
	Getenv func(string) string
	Env    spec.EnvPolicy
}

// Engine probes every target of the spec's pools and keeps each target's
// local verdict. Create it with New, give it a spec with Update, and Run
// it; Update may be called at any time, before or during Run.
type Engine struct {
	log     *slog.Logger
	sink    Sink
	kinds   map[string]kind
	env     *env
	limit   int // probes in flight at once
	sched   *schedule
	metrics *metrics

	wg sync.WaitGroup // the dispatcher and the workers

	mu         sync.Mutex
	targets    map[TargetID]*target
	spec       *spec.Spec // in force: heartbeats are validated against it
	beatRoutes map[beatKey][]*target
	runCtx     context.Context // non-nil while Run accepts new targets
	running    bool
	updated    bool // Update was called at least once
	pending    int  // targets still without a first verdict
	firstDone  chan struct{}
	firstShut  bool
}

// New returns an engine that reports verdict changes to sink. logger and
// sink may be nil (discard). It fails only when the metrics cannot be
// registered.
func New(logger *slog.Logger, sink Sink, opts Options) (*Engine, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if sink == nil {
		sink = SinkFunc(func(Transition) {})
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	return &Engine{
		log:   logger,
		sink:  sink,
		kinds: kinds(),
		env: &env{beats: newBeatBook(), now: opts.Now, source: opts.SourceIP, guard: &guard{allow: opts.AllowNetworks},
			getenv: opts.Getenv, envPolicy: opts.Env},
		limit:     opts.Concurrency,
		sched:     newSchedule(),
		metrics:   m,
		targets:   map[TargetID]*target{},
		firstDone: make(chan struct{}),
	}, nil
}

// Run probes until ctx is done, then waits for every probing goroutine to
// exit and returns nil. It returns ErrRunning if the engine already runs.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	if e.running {
		e.mu.Unlock()
		return ErrRunning
	}
	e.running, e.runCtx = true, ctx
	now := time.Now()
	for _, t := range e.targets {
		e.sched.add(t, now)
	}
	n := len(e.targets)
	e.mu.Unlock()
	e.log.Info("health checks started", "targets", n)

	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.dispatch(ctx, e.limit)
	}()
	<-ctx.Done()
	e.mu.Lock()
	e.runCtx = nil
	e.mu.Unlock()
	e.wg.Wait()
	for _, t := range e.sched.clear() {
		release(t.checker)
	}
	e.mu.Lock()
	e.running = false
	e.mu.Unlock()
	e.log.Info("health checks stopped")
	return nil
}

// FirstRoundDone is closed once every target has a verdict after the first
// Update (or was probed max(rise, fall) times without one: it flaps), so
// that a node does not answer from a blind start. Targets added
// before that count too; later ones do not. A spec without targets is done
// at once.
func (e *Engine) FirstRoundDone() <-chan struct{} { return e.firstDone }

// Update replaces the set of targets with those of s, which must have
// been validated. Targets whose check and probe address did not change go
// on untouched, state included. A target whose check changed keeps its
// verdict (its rise/fall streak starts over), so editing a check does not
// flap it. Pools without a check have no targets.
func (e *Engine) Update(s *spec.Spec) {
	checks := make(map[string]spec.Check, len(s.Checks))
	for _, c := range s.Checks {
		checks[c.Name] = c
	}
	builds := map[string]func(Target) Checker{}

	e.mu.Lock()
	defer e.mu.Unlock()
	next := map[TargetID]*target{}
	routes := map[beatKey][]*target{}
	var added, changed int
	for _, p := range s.Pools {
		c, ok := checks[p.Check]
		if !ok {
			continue
		}
		for _, ep := range p.Endpoints {
			id := TargetID{Pool: p.Name, Address: ep.Address}
			probe := probeAddress(&c, ep)
			old := e.targets[id]
			t := old
			if old == nil || old.probe != probe || !reflect.DeepEqual(old.check, c) {
				t = e.newTarget(id, c, probe, e.build(builds, c))
				if old != nil {
					e.retire(old) // first, so that no result lands after the copy
					t.inherit(old)
					changed++
				} else {
					added++
				}
				if t.rf.verdict == Unknown && !e.firstShut {
					t.pendingFirst = true
					e.pending++
				}
				if e.runCtx != nil {
					e.sched.add(t, time.Now())
				}
			}
			next[id] = t
			if c.Type == spec.CheckHeartbeat {
				k := beatKey{c.Name, ep.Address}
				routes[k] = append(routes[k], t)
			}
		}
	}
	removed := 0
	for id, old := range e.targets {
		if next[id] != old {
			e.retire(old)
			if next[id] == nil {
				removed++
			}
		}
	}
	e.targets, e.spec, e.beatRoutes, e.updated = next, s, routes, true
	e.settle()
	e.log.Info("health targets updated", "targets", len(next), "added", added, "changed", changed, "removed", removed)
}

// build returns the checker factory for c, built once per Update; a check
// that cannot be set up yields targets that report why on every probe.
func (e *Engine) build(cache map[string]func(Target) Checker, c spec.Check) func(Target) Checker {
	if f, ok := cache[c.Name]; ok {
		return f
	}
	var f func(Target) Checker
	k, ok := e.kinds[c.Type]
	var err error
	if !ok {
		err = unsupported(c.Type)
	} else {
		f, err = k(&c, e.env)
	}
	if err != nil {
		e.log.Error("check cannot be set up; its targets report down", "check", c.Name, "err", err)
		broken := brokenChecker(err)
		f = func(Target) Checker { return broken }
	}
	cache[c.Name] = f
	return f
}

// View returns the current local status of every target, sorted by pool
// and address.
func (e *Engine) View() []Status {
	e.mu.Lock()
	ts := make([]*target, 0, len(e.targets))
	for _, t := range e.targets {
		ts = append(ts, t)
	}
	e.mu.Unlock()
	out := make([]Status, len(ts))
	for i, t := range ts {
		out[i] = t.snapshot()
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Target, out[j].Target
		return a.Pool < b.Pool || (a.Pool == b.Pool && a.Address < b.Address)
	})
	return out
}

// retire stops a target that left the spec or was replaced. e.mu is held.
func (e *Engine) retire(t *target) {
	if idle := e.sched.retire(t); idle {
		release(t.checker)
	} // else the worker that has it releases it
	t.mu.Lock()
	t.gone = true
	t.mu.Unlock()
	if t.pendingFirst {
		t.pendingFirst = false
		e.pending--
	}
}

// firstVerdict notes that t left Unknown.
func (e *Engine) firstVerdict(t *target) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t.pendingFirst {
		t.pendingFirst = false
		e.pending--
		e.settle()
	}
}

// settle closes FirstRoundDone when nothing is pending. e.mu is held.
func (e *Engine) settle() {
	if e.firstShut || !e.updated || e.pending > 0 {
		return
	}
	e.firstShut = true
	close(e.firstDone)
	e.log.Info("first round of health checks done", "targets", len(e.targets))
}
