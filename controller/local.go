package controller

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/spec"
)

// Local holds the answers of a node that decides alone, without Raft: the
// spec, the health it is told, and the published snapshot. Nodes run the
// replicated FSM; Local serves tests and tools that need real answers from
// a spec and a health view without a cluster.
type Local struct {
	mu      sync.Mutex
	spec    *spec.Spec
	zones   *dnsserver.ZoneSet
	health  Health
	answers atomic.Pointer[dnsserver.Snapshot]
	now     func() time.Time
}

// NewLocal compiles s and publishes its first answers, every endpoint
// counting as up until health is known.
func NewLocal(s *spec.Spec, now func() time.Time) (*Local, error) {
	if now == nil {
		now = time.Now
	}
	l := &Local{health: AllUp{}, now: now}
	if err := l.SetSpec(s); err != nil {
		return nil, err
	}
	return l, nil
}

// Answers returns the current snapshot. It is safe for concurrent use and
// never blocks.
func (l *Local) Answers() *dnsserver.Snapshot { return l.answers.Load() }

// SetSpec replaces the spec and republishes the answers. On error nothing
// changes.
func (l *Local) SetSpec(s *spec.Spec) error {
	zs, err := dnsserver.NewZoneSet(s)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.publish(s, zs, l.health)
}

// SetHealth replaces the health view and republishes the answers.
func (l *Local) SetHealth(h Health) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.publish(l.spec, l.zones, h)
}

func (l *Local) publish(s *spec.Spec, zs *dnsserver.ZoneSet, h Health) error {
	ds := Evaluate(s, h)
	snap, err := dnsserver.Build(zs, DynamicAnswers(ds), l.answers.Load(), l.now())
	if err != nil {
		return fmt.Errorf("controller: %w", err)
	}
	l.spec, l.zones, l.health = s, zs, h
	l.answers.Store(snap)
	return nil
}
