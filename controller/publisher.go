package controller

import (
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"sync/atomic"

	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/spec"
)

// Building DNS answers is the publisher's, off the apply path: the FSM
// hands it every new View (a pointer swap under the FSM lock) and goes
// on applying; the publisher's goroutine builds the answers of the
// latest view it was handed, skipping those a later one replaced, so a
// burst of applies costs one build. The DNS server reads the last
// answers built, atomically. WaitApplied waits for the published index
// too, so a reader that waited for an index reads its answers.

// bigZoneNames is the zone size from which a spec change returns freed
// memory to the OS at once.
const bigZoneNames = 100_000

// publication is what the publisher built last: immutable.
type publication struct {
	// index is that of the view the answers come from.
	index   uint64
	answers *dnsserver.Snapshot // nil before the state has a spec
	// spec and zones are the spec the answers come from and its zone
	// set (the minority mode builds its own answers over them).
	spec  *spec.Spec
	zones *dnsserver.ZoneSet
	// decisions and serials are the view's, to tell when the answers
	// must change.
	decisions []Decision
	serials   map[string]uint32
	// changed closes when a newer publication replaces this one.
	changed chan struct{}
}

// pubWork is a view to publish and the zone set compiled for its spec,
// when the FSM has it.
type pubWork struct {
	view  *View
	zones *dnsserver.ZoneSet
}

// publisher builds DNS answers from views on its own goroutine.
type publisher struct {
	logger *slog.Logger
	// failed hears of answers that will not build (the FSM halts).
	failed func(*View, error)
	next   atomic.Pointer[pubWork] // latest wins
	last   atomic.Pointer[publication]
	kick   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	closed atomic.Bool
}

// startPublisher starts a publisher; close stops it.
func startPublisher(logger *slog.Logger, failed func(*View, error)) *publisher {
	p := &publisher{
		logger: logger, failed: failed,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	p.last.Store(&publication{changed: make(chan struct{})})
	go p.run()
	return p
}

// offer hands the publisher view v (and the zone set of its spec, or
// nil). It never blocks: a view not yet built is replaced.
func (p *publisher) offer(v *View, zs *dnsserver.ZoneSet) {
	p.next.Store(&pubWork{view: v, zones: zs})
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// current is the last publication.
func (p *publisher) current() *publication { return p.last.Load() }

// answers is the last answers built, nil before a spec.
func (p *publisher) answers() *dnsserver.Snapshot { return p.last.Load().answers }

// close stops the goroutine and waits for it.
func (p *publisher) close() {
	if p.closed.CompareAndSwap(false, true) {
		close(p.stop)
	}
	<-p.done
}

func (p *publisher) run() {
	defer close(p.done)
	for {
		select {
		case <-p.stop:
			return
		case <-p.kick:
		}
		if w := p.next.Swap(nil); w != nil {
			p.publish(w)
		}
	}
}

// publish builds the answers of w's view, unless they would be the
// last ones, and marks its index published either way. On an error the
// answers stay as they were and the publisher goes on with later views.
func (p *publisher) publish(w *pubWork) {
	prev, v := p.current(), w.view
	next := &publication{
		index: v.Index(), answers: prev.answers, spec: prev.spec, zones: prev.zones,
		decisions: prev.decisions, serials: prev.serials, changed: make(chan struct{}),
	}
	if err := next.build(w, prev); err != nil {
		p.failed(v, err) // next holds prev's answers: build sets nothing on failure
	}
	p.last.Store(next)
	close(prev.changed)
}

// build fills n from w's view, taking what prev built when it can.
func (n *publication) build(w *pubWork, prev *publication) error {
	v := w.view
	sp := v.Spec()
	if sp == nil {
		return nil
	}
	ds, serials := v.Decisions(), v.Serials()
	specChanged := sp != prev.spec
	// The serials too: views skipped since the last build may have moved
	// an answer and moved it back, raising the serial (seed 1).
	if !specChanged && prev.answers != nil && sameDecisions(prev.decisions, ds) && maps.Equal(prev.serials, serials) {
		return nil
	}
	zs := prev.zones
	if specChanged || zs == nil {
		zs = w.zones
		if zs == nil {
			var err error
			if zs, err = dnsserver.NewZoneSet(sp); err != nil {
				return fmt.Errorf("compile zones: %w", err)
			}
		}
		if zs.Names() >= bigZoneNames {
			// Compiling a big spec leaves hundreds of megabytes of
			// garbage that the runtime would keep mapped for minutes;
			// hand it back now, off the publishing path.
			go debug.FreeOSMemory()
		}
	}
	snap, err := dnsserver.BuildSerials(zs, DynamicAnswers(ds), serials, v.Now())
	if err != nil {
		return fmt.Errorf("build answers: %w", err)
	}
	n.answers, n.spec, n.zones, n.decisions, n.serials = snap, sp, zs, ds, serials
	return nil
}

func sameDecisions(a, b []Decision) bool {
	return slices.EqualFunc(a, b, func(x, y Decision) bool {
		return x.Name == y.Name && x.Type == y.Type && x.SameAnswer(y) && x.SameRecords(y)
	})
}
