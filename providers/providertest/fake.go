// Package providertest has fakes of what a providers.Manager reads: the
// replicated spec and decisions, and leadership, so that provider tests
// can fail over and change leaders without a Raft cluster.
package providertest

import (
	"context"
	"sync"
	"testing"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/spec"
)

// Leader is leadership to hand over and take back, as Raft does: Run
// runs a leader task for each term, from Set(true) to Set(false).
type Leader struct {
	mu      sync.Mutex
	on      bool
	changed chan struct{}
}

// Set gains (true) or loses (false) leadership.
func (l *Leader) Set(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	if l.on == on {
		return
	}
	l.on = on
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *Leader) state() (bool, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	return l.on, l.changed
}

// Run runs task under each term's context until ctx ends: it starts it
// when leadership is gained, cancels it when lost and waits for it to
// return, as the controller's store does with leader tasks.
func (l *Leader) Run(ctx context.Context, task func(context.Context) error) {
	for {
		on, changed := l.state()
		if on {
			tctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = task(tctx)
			}()
			for on && ctx.Err() == nil {
				select {
				case <-ctx.Done():
				case <-changed:
					on, changed = l.state()
				}
			}
			cancel()
			<-done
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// Source is a providers.Source whose decisions the test sets.
type Source struct {
	mu        sync.Mutex
	spec      *spec.Spec
	version   uint64
	decisions map[string]controller.Decision // by name/type
	order     []string
	changed   chan struct{}
}

// NewSource parses specYAML and starts with no decisions.
func NewSource(t testing.TB, specYAML string) *Source {
	t.Helper()
	s, err := spec.Parse([]byte(specYAML))
	if err != nil {
		t.Fatal(err)
	}
	return &Source{spec: s, version: 1, decisions: map[string]controller.Decision{}, changed: make(chan struct{})}
}

// Spec returns the spec.
func (s *Source) Spec() (*spec.Spec, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spec, s.version
}

// Decisions returns the decisions in the order first set.
func (s *Source) Decisions() []controller.Decision {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]controller.Decision, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, s.decisions[k])
	}
	return out
}

// Changed returns a channel closed at the next Set.
func (s *Source) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Set decides that name/typ answers answers (none: no data).
func (s *Source) Set(name, typ string, answers ...string) {
	s.SetMany(func(set func(name, typ string, answers ...string)) { set(name, typ, answers...) })
}

// SetMany sets several decisions as one change, like one Raft apply.
func (s *Source) SetMany(fn func(set func(name, typ string, answers ...string))) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(func(name, typ string, answers ...string) {
		k := name + "/" + typ
		if _, ok := s.decisions[k]; !ok {
			s.order = append(s.order, k)
		}
		s.decisions[k] = controller.Decision{Name: name, Type: typ, Answers: answers}
	})
	close(s.changed)
	s.changed = make(chan struct{})
}

// SetSpec replaces the spec.
func (s *Source) SetSpec(t testing.TB, specYAML string) {
	t.Helper()
	sp, err := spec.Parse([]byte(specYAML))
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spec = sp
	s.version++
	close(s.changed)
	s.changed = make(chan struct{})
}
