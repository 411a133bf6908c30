package providers

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seed3787e6f1/detour/spec"
)

// Options configure a Manager.
type Options struct {
	Source Source
	// Builders maps a provider type to its constructor: the explicit
	// table of providers (see package builtin).
	Builders map[string]Builder
	// Getenv reads secrets named by the spec; nil means os.Getenv.
	Getenv func(string) string
	Logger *slog.Logger
	// Registerer receives the provider metrics; nil registers none.
	Registerer prometheus.Registerer
	// Access limits what the spec's providers may reach on this node:
	// the environment variables they name and the base URLs they call
	// (security; by default DETOUR_* less DETOUR_CHECK_* and
	// DETOUR_NOTIFY_*, and the official endpoints only).
	Access Access
}

// Manager runs one reconciler per provider of the spec while this node is
// the Raft leader, and stops them the moment it is not: only the leader
// writes to providers. A new term starts from scratch, reading every
// provider before writing.
type Manager struct {
	o Options

	mu     sync.Mutex
	built  map[string]*built  // by provider name
	status map[string]*status // by provider name; outlives terms
}

// built is a provider made from one version of its spec entry, kept
// across terms so that its rate limiter and counters carry on.
type built struct {
	cfg spec.Provider
	p   Provider
	err error
}

// NewManager returns a Manager; Run starts it.
func NewManager(o Options) (*Manager, error) {
	if o.Source == nil {
		return nil, fmt.Errorf("providers: NewManager needs a Source")
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{o: o, built: map[string]*built{}, status: map[string]*status{}}
	if o.Registerer != nil {
		if err := o.Registerer.Register(collector{m}); err != nil {
			return nil, fmt.Errorf("providers: metrics: %w", err)
		}
	}
	return m, nil
}

// term is the reconcilers of one leadership term.
type term struct {
	cfgs   []spec.Provider
	cancel context.CancelFunc
	wg     sync.WaitGroup
	recs   []*reconciler
}

func (t *term) stop() {
	t.cancel()
	t.wg.Wait()
}

// Run drives the reconcilers until ctx ends, and stops them all before
// it returns. It is a leader task (controller.Store.OnLeader): ctx is
// the leader's term, so only the leader writes to providers, and each
// term starts from scratch, reading every provider before writing. A
// change of the spec's providers restarts the reconcilers; any other
// change of the replicated state pokes them.
func (m *Manager) Run(ctx context.Context) error {
	// changed is taken before the term starts reading: a change landing
	// at any moment closes the channel held here, so none goes
	// unnoticed until the next drift check.
	changed := m.o.Source.Changed()
	t := m.startTerm(ctx)
	if len(t.cfgs) > 0 {
		m.o.Logger.Info("leader: provider sync started", "providers", len(t.cfgs))
	}
	defer func() {
		t.stop()
		m.setActive(t.cfgs, false)
		if len(t.cfgs) > 0 {
			m.o.Logger.Info("the leader's term ended: provider sync stopped")
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
		changed = m.o.Source.Changed()
		if !slices.Equal(t.cfgs, m.specProviders()) {
			t.stop()
			m.setActive(t.cfgs, false)
			t = m.startTerm(ctx)
			continue
		}
		for _, r := range t.recs {
			r.poke()
		}
	}
}

func (m *Manager) specProviders() []spec.Provider {
	s, _ := m.o.Source.Spec()
	if s == nil {
		return nil
	}
	return s.Providers
}

func (m *Manager) startTerm(ctx context.Context) *term {
	cfgs := slices.Clone(m.specProviders())
	ctx, cancel := context.WithCancel(ctx)
	t := &term{cfgs: cfgs, cancel: cancel}
	for _, cfg := range cfgs {
		r := newReconciler(cfg, m.o.Source, func() (Provider, error) { return m.provider(cfg) },
			m.statusOf(cfg), m.o.Logger.With("provider", cfg.Name, "type", cfg.Type))
		t.recs = append(t.recs, r)
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			r.run(ctx)
		}()
	}
	m.setActive(cfgs, true)
	return t
}

func (m *Manager) setActive(cfgs []spec.Provider, on bool) {
	for _, c := range cfgs {
		m.statusOf(c).update(func(s *Status) { s.Active = on })
	}
}

// provider returns the provider built from cfg, building it when cfg
// changed. A failed build is retried at the next call.
func (m *Manager) provider(cfg spec.Provider) (Provider, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b := m.built[cfg.Name]; b != nil && b.cfg == cfg && b.err == nil {
		return b.p, nil
	}
	build := m.o.Builders[cfg.Type]
	if build == nil {
		return nil, fmt.Errorf("%w: provider %s: type %q has no implementation in this build", ErrConfig, cfg.Name, cfg.Type)
	}
	if err := m.o.Access.Check(cfg); err != nil {
		err = fmt.Errorf("provider %s: %w", cfg.Name, err)
		m.built[cfg.Name] = &built{cfg: cfg, err: err}
		return nil, err
	}
	p, err := build(cfg, m.o.Getenv)
	if err != nil {
		err = fmt.Errorf("provider %s: %w", cfg.Name, err)
	}
	m.built[cfg.Name] = &built{cfg: cfg, p: p, err: err}
	return p, err
}

func (m *Manager) statusOf(cfg spec.Provider) *status {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.status[cfg.Name]
	if st == nil {
		st = &status{}
		m.status[cfg.Name] = st
	}
	st.update(func(s *Status) { s.Name, s.Type, s.Zone = cfg.Name, cfg.Type, cfg.Zone })
	return st
}

// Status returns the sync state of every provider of the spec in force,
// in spec order.
func (m *Manager) Status() []Status {
	cfgs := m.specProviders()
	out := make([]Status, 0, len(cfgs))
	for _, cfg := range cfgs {
		s := m.statusOf(cfg).get()
		m.mu.Lock()
		if b := m.built[cfg.Name]; b != nil {
			if rc, ok := b.p.(RequestCounter); ok && b.err == nil {
				s.Requests = rc.Requests()
			}
		}
		m.mu.Unlock()
		out = append(out, s)
	}
	return out
}

// Plan is what a provider would be told to change.
type Plan struct {
	Provider string   `json:"provider"`
	Type     string   `json:"type"`
	Zone     string   `json:"zone"`
	Changes  []Change `json:"changes"`
	// Error is why the provider could not be read; Changes is then empty.
	Error string `json:"error,omitempty"`
}

// Plan reads every provider (or only the one named, when name is not
// empty) and returns the changes a sync would write, writing nothing. It
// works on any node: reading is harmless.
func (m *Manager) Plan(ctx context.Context, name string) ([]Plan, error) {
	s, _ := m.o.Source.Spec()
	decisions := m.o.Source.Decisions()
	var out []Plan
	for _, cfg := range m.specProviders() {
		if name != "" && cfg.Name != name {
			continue
		}
		pl := Plan{Provider: cfg.Name, Type: cfg.Type, Zone: cfg.Zone, Changes: []Change{}}
		want, keys := Desired(s, decisions, cfg)
		p, err := m.provider(cfg)
		if err == nil {
			var cur []RRset
			if cur, err = p.Read(ctx, keys); err == nil {
				pl.Changes = Diff(normalize(p, want), cur)
			}
		}
		if err != nil {
			pl.Error = err.Error()
		}
		out = append(out, pl)
	}
	if name != "" && len(out) == 0 {
		return nil, fmt.Errorf("%w: %q", ErrUnknownProvider, name)
	}
	return out, nil
}
