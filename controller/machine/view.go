package machine

import (
	"maps"
	"slices"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// View is an immutable picture of the replicated state as of one log
// index. The FSM publishes a new one after every apply (an atomic
// pointer swap); readers take the latest with FSM.View and never lock
// anything, however long an apply runs. Everything a View returns is a
// copy or is never changed again: callers may keep it.
//
// Publishing is copy-on-write: a new View shares with the previous one
// every part the command did not touch, and copies from the state only
// what it did (one observer's map of verdicts for a report, the
// overrides for a drain). The decisions, the spec, each verdict, the last
// known verdicts and the once-only results are replaced by the state
// machine, never changed in place, so they are shared as they are.
type View struct {
	index, term uint64
	now         time.Time
	// appliedAt is when this node applied the state's latest time, on
	// its monotonic clock (the Raft store's leader clock goes on from it).
	appliedAt time.Time

	spec        *spec.Spec
	specHash    string
	specVersion uint64
	staged      *StagedSpec
	refused     *specRefusal

	observers map[string]*ObserverRecord // the view's own copies
	overrides map[string]*Override
	members   map[string]*Member
	incidents map[string]*Incident
	cursors   map[string]*NotifyCursor
	providers map[string]*ProviderSync

	events       []Event // len == cap: appends by the state never reach it
	nextEvent    uint64
	nextIncident uint64
	versions     map[string]ZoneSerial

	decisions []Decision
	extra     viewExtra
	// The state's own maps, which it replaces rather than changes (see
	// remember, keep): what a snapshot needs beyond the rest.
	applied   map[string]uint64
	results   map[string]Result
	lastKnown map[string]LastVerdict

	// changed is closed when a newer view replaces this one.
	changed chan struct{}
}

// emptyView is the view of a state with nothing in it.
func emptyView() *View {
	return &View{changed: make(chan struct{})}
}

// Changed returns a channel closed when a newer view is published: take
// the view, read it, then wait on its Changed, and no change falls in
// between.
func (v *View) Changed() <-chan struct{} { return v.changed }

// AppliedAt is when this node applied the state's latest time, on its
// monotonic clock: local, never replicated.
func (v *View) AppliedAt() time.Time { return v.appliedAt }

// DecideWith evaluates every record of s under h (a health other than
// the cluster's, such as one node's own) with the drains and pins in
// force laid over it.
func (v *View) DecideWith(s *spec.Spec, h Health) []Decision {
	return v.EvaluatePinned(s, v.drainsOver(h, s))
}

// Index is the Raft index of the last entry this view reflects.
func (v *View) Index() uint64 { return v.index }

// Term is the Raft term of the last entry this view reflects.
func (v *View) Term() uint64 { return v.term }

// Now is the state's clock: the time of the latest command applied.
func (v *View) Now() time.Time { return v.now }

// Spec returns the spec in force, or nil. Specs are never changed once
// parsed: do not change it either.
func (v *View) Spec() *spec.Spec { return v.spec }

// SpecVersion is the version of the spec in force, 0 for none.
func (v *View) SpecVersion() uint64 { return v.specVersion }

// Staged returns the spec committed but not yet in force (see
// stage.go), or nil.
func (v *View) Staged() *StagedSpec {
	if v.staged == nil {
		return nil
	}
	c := *v.staged
	c.YAML, c.YAMLGzip = nil, nil
	return &c
}

// Decisions returns every record's answer and why, in spec order.
func (v *View) Decisions() []Decision { return slices.Clone(v.decisions) }

// EndpointHealth is the cluster's verdict on one endpoint, drains
// applied.
func (v *View) EndpointHealth(pool, addr string) EndpointHealth {
	return v.HealthWithout(v.spec, nil).Endpoint(pool, addr)
}

// HealthWithout is the cluster's consensus health, drains applied, as if
// the observers in gone had stopped reporting. Pools are mapped to their
// datacenters (for datacenter drains) and the quorum rule is read from s,
// which may be a spec other than the one in force: a drill asks "what
// if" of a spec before it is applied.
func (v *View) HealthWithout(s *spec.Spec, gone map[string]bool) Health {
	return v.drainsOver(consensusOf(v.observers, s, gone), s)
}

func (v *View) drainsOver(h Health, s *spec.Spec) Health { return drainsOf(v.overrides, h, s) }

// EvaluatePinned evaluates every record of s under h with the pins in
// force applied.
func (v *View) EvaluatePinned(s *spec.Spec, h Health) []Decision {
	return EvaluatePinned(s, h, pinsOf(v.overrides))
}

// ObserverInfo is one observer's standing.
type ObserverInfo struct {
	ID         string
	Fresh      bool
	LastReport time.Time
	// Datacenter is the member's datacenter, when it registered.
	Datacenter string
}

// Observers lists the observers, sorted by ID.
func (v *View) Observers() []ObserverInfo {
	out := make([]ObserverInfo, 0, len(v.observers))
	for _, id := range slices.Sorted(maps.Keys(v.observers)) {
		o := v.observers[id]
		oi := ObserverInfo{ID: id, Fresh: o.Fresh, LastReport: o.LastReport}
		if m := v.members[id]; m != nil {
			oi.Datacenter = m.Datacenter
		}
		out = append(out, oi)
	}
	return out
}

// Observer returns one observer's standing.
func (v *View) Observer(id string) (ObserverInfo, bool) {
	o := v.observers[id]
	if o == nil {
		return ObserverInfo{}, false
	}
	oi := ObserverInfo{ID: id, Fresh: o.Fresh, LastReport: o.LastReport}
	if m := v.members[id]; m != nil {
		oi.Datacenter = m.Datacenter
	}
	return oi, true
}

// Verdict returns observer's own verdict on the endpoint addr of pool.
func (v *View) Verdict(observer, pool, addr string) (Verdict, bool) {
	o := v.observers[observer]
	if o == nil {
		return Verdict{}, false
	}
	vd := o.Verdicts[targetKey(pool, addr)]
	if vd == nil {
		return Verdict{}, false
	}
	return *vd, true
}

// ObserverVerdict is an observer's verdict on one endpoint.
type ObserverVerdict struct {
	Pool, Address string
	Verdict
}

// Verdicts returns every verdict the observer holds, sorted by pool and
// address.
func (v *View) Verdicts(observer string) []ObserverVerdict {
	o := v.observers[observer]
	if o == nil {
		return nil
	}
	out := make([]ObserverVerdict, 0, len(o.Verdicts))
	for _, k := range slices.Sorted(maps.Keys(o.Verdicts)) {
		pool, addr := splitTargetKey(k)
		out = append(out, ObserverVerdict{Pool: pool, Address: addr, Verdict: *o.Verdicts[k]})
	}
	return out
}

// Overrides returns the overrides in force, sorted by key.
func (v *View) Overrides() []Override {
	out := make([]Override, 0, len(v.overrides))
	for _, k := range slices.Sorted(maps.Keys(v.overrides)) {
		out = append(out, *v.overrides[k])
	}
	return out
}

// Drain returns the drain of target (a datacenter, pool or
// pool/address), if one is in force.
func (v *View) Drain(target string) (Override, bool) {
	o := v.overrides[(&Override{Kind: OverrideDrain, Target: target}).Key()]
	if o == nil {
		return Override{}, false
	}
	return *o, true
}

// Pin returns the pin of the record name (fully qualified, as the spec
// holds it) and type, if one is in force.
func (v *View) Pin(name, typ string) (Override, bool) {
	o := v.overrides[(&Override{Kind: OverridePin, Record: name, Type: typ}).Key()]
	if o == nil {
		return Override{}, false
	}
	return *o, true
}

// Member returns what member id registered.
func (v *View) Member(id string) (Member, bool) {
	m := v.members[id]
	if m == nil {
		return Member{}, false
	}
	return *m, true
}

// Members returns the registered members, sorted by ID.
func (v *View) Members() []Member {
	out := make([]Member, 0, len(v.members))
	for _, id := range slices.Sorted(maps.Keys(v.members)) {
		out = append(out, *v.members[id])
	}
	return out
}

// Events returns the event log kept (at most MaxEvents), oldest first.
func (v *View) Events() []Event { return slices.Clone(v.events) }

// EventsAfter returns the events with a sequence number above seq.
func (v *View) EventsAfter(seq uint64) []Event {
	i, _ := slices.BinarySearchFunc(v.events, seq+1, func(e Event, s uint64) int {
		switch {
		case e.Seq < s:
			return -1
		case e.Seq > s:
			return 1
		}
		return 0
	})
	return slices.Clone(v.events[i:])
}

// NextEvent is the sequence number of the latest event (0 for none).
func (v *View) NextEvent() uint64 { return v.nextEvent }

// NextIncident is the number of the latest incident opened (0 for none).
func (v *View) NextIncident() uint64 { return v.nextIncident }

// Incident returns a copy of incident id.
func (v *View) Incident(id string) (Incident, bool) {
	inc := v.incidents[id]
	if inc == nil {
		return Incident{}, false
	}
	return copyIncident(inc), true
}

// Incidents returns copies of every incident kept, by ID.
func (v *View) Incidents() map[string]*Incident {
	out := make(map[string]*Incident, len(v.incidents))
	for id, inc := range v.incidents {
		c := copyIncident(inc)
		out[id] = &c
	}
	return out
}

// Cursor returns the delivery cursor of a notification channel.
func (v *View) Cursor(channel string) (NotifyCursor, bool) {
	c := v.cursors[channel]
	if c == nil {
		return NotifyCursor{}, false
	}
	return *c, true
}

// Cursors returns every channel's cursor, sorted by channel.
func (v *View) Cursors() []NotifyCursor {
	out := make([]NotifyCursor, 0, len(v.cursors))
	for _, k := range slices.Sorted(maps.Keys(v.cursors)) {
		out = append(out, *v.cursors[k])
	}
	return out
}

// Provider returns the leader's last word on a provider's sync.
func (v *View) Provider(name string) (ProviderSync, bool) {
	p := v.providers[name]
	if p == nil {
		return ProviderSync{}, false
	}
	return *p, true
}

// Providers returns every provider's sync state, sorted by name.
func (v *View) Providers() []ProviderSync {
	out := make([]ProviderSync, 0, len(v.providers))
	for _, k := range slices.Sorted(maps.Keys(v.providers)) {
		out = append(out, *v.providers[k])
	}
	return out
}

func splitTargetKey(k string) (pool, addr string) {
	for i := 0; i < len(k); i++ {
		if k[i] == '/' {
			return k[:i], k[i+1:]
		}
	}
	return k, ""
}

func copyIncident(inc *Incident) Incident {
	c := *inc
	c.Updates = slices.Clone(inc.Updates)
	c.Current = slices.Clone(inc.Current) // the apply path rewrites its entries in place
	return c
}

func copyObserver(o *ObserverRecord) *ObserverRecord {
	// The state replaces a verdict, never changes it (report): the
	// view shares them.
	return &ObserverRecord{Fresh: o.Fresh, LastReport: o.LastReport, Verdicts: maps.Clone(o.Verdicts)}
}

// copyValues copies a map of pointers to structs: the view's own.
func copyValues[T any](m map[string]*T) map[string]*T {
	if m == nil {
		return nil
	}
	out := make(map[string]*T, len(m))
	for k, p := range m {
		c := *p
		out[k] = &c
	}
	return out
}
