package controller

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/spec"
)

// Errors from applying commands. Check them with errors.Is.
var (
	ErrNoSpec        = errors.New("the cluster has no spec yet")
	ErrUnknownTarget = errors.New("no datacenter, pool or endpoint by that name")
	ErrUnknownRecord = errors.New("no health-driven record by that name")
	ErrBadCommand    = errors.New("malformed command")
	ErrNotFound      = errors.New("nothing to clear")
	ErrSpecChanged   = errors.New("the spec in force is not the version the change was made over")

	// errUnknownCommand halts the replica rather than refusing: a
	// newer leader committed a command this version cannot apply, and
	// refusing it here while newer replicas apply it would diverge.
	errUnknownCommand = errors.New("unknown command type")
)

// MaxEvents bounds the event log kept in the replicated state.
const MaxEvents = 1000

// State is the replicated state. Only apply changes it, and apply reads
// nothing but the command, so every replica holds the same state.
type State struct {
	SpecYAML    []byte                     `json:"spec_yaml,omitempty"`
	SpecVersion uint64                     `json:"spec_version"`
	Observers   map[string]*ObserverRecord `json:"observers"`
	Overrides   map[string]*Override       `json:"overrides"`
	Members     map[string]*Member         `json:"members"`
	Events      []Event                    `json:"events"`
	NextEvent   uint64                     `json:"next_event"`
	Versions    dnsserver.Versions         `json:"versions,omitempty"`
	// Incidents by ID; NextIncident numbers them.
	Incidents    map[string]*Incident `json:"incidents,omitempty"`
	NextIncident uint64               `json:"next_incident,omitempty"`
	// Providers is the leader's last word on each provider's sync.
	Providers map[string]*ProviderSync `json:"providers,omitempty"`
	// Cursors say what each notification channel has delivered.
	Cursors map[string]*NotifyCursor `json:"cursors,omitempty"`
	// Now is the time of the latest command applied: the state's clock.
	Now time.Time `json:"now"`
	// Applied holds the IDs of the commands applied within the last
	// dedupEntries log entries, with the index each applied at, so that
	// a retried copy is not applied twice.
	Applied map[string]uint64 `json:"applied,omitempty"`
	// Index and Term are those of the last log entry applied; the FSM
	// keeps them, so that a snapshot says which entries it holds.
	Index uint64 `json:"index,omitempty"`
	Term  uint64 `json:"term,omitempty"`
	// Staged is the spec committed but not yet in force (stage.go).
	Staged *StagedSpec `json:"staged,omitempty"`

	spec *spec.Spec
	// compile returns the compiled spec of a staged one (the FSM's
	// background compile); nil puts a spec in force as it applies.
	compile func(*StagedSpec) (*spec.Spec, []byte, error)
	refused *specRefusal
	// derived from the above, to tell what changed
	health    map[string]EndpointHealth
	decisions []Decision
}

// ObserverRecord is what the cluster knows of one node's checks.
type ObserverRecord struct {
	Fresh      bool                `json:"fresh"`
	LastReport time.Time           `json:"last_report"`
	Verdicts   map[string]*Verdict `json:"verdicts"` // by pool/address
}

// Verdict is one observer's local verdict on one endpoint.
type Verdict struct {
	Up      bool      `json:"up"`
	Reason  string    `json:"reason,omitempty"`
	Latency float64   `json:"latency_ms,omitempty"`
	Since   time.Time `json:"since"`
}

// Event is one entry of the audit log.
type Event struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"` // spec, endpoint, record, override, observer, member
	Subject string    `json:"subject"`
	Message string    `json:"message"`
}

// NewState returns an empty state.
func NewState() *State {
	return &State{
		Observers: map[string]*ObserverRecord{},
		Overrides: map[string]*Override{},
		Members:   map[string]*Member{},
	}
}

// Spec returns the spec in force, or nil.
func (st *State) Spec() *spec.Spec { return st.spec }

func targetKey(pool, addr string) string { return pool + "/" + addr }

// apply changes the state by one command and logs what changed. An error
// leaves the state unchanged.
func (st *State) apply(c *Command) error {
	now := c.Time.UTC()
	if now.Before(st.Now) {
		now = st.Now // proposers' clocks differ; the state's never goes back
	}
	if _, dup := st.Applied[c.ID]; dup && c.ID != "" {
		return nil // a retried copy of a command already applied
	}
	var err error
	switch c.Type {
	case CmdSetSpec:
		err = st.stage(c.Spec, now)
	case CmdActivateSpec:
		err = st.activate(c.Activate, now)
	case CmdObserverReport:
		err = st.report(c.Report, now)
	case CmdObserverLiveness:
		err = st.liveness(c.Liveness, now)
	case CmdSetOverride:
		err = st.setOverride(c.Override, now)
	case CmdClearOverride:
		err = st.clearOverride(c.Clear, now)
	case CmdExpireOverrides:
		st.expireOverrides(now)
	case CmdRegisterMember:
		err = st.registerMember(c.Member, now)
	case CmdRemoveMember:
		err = st.removeMember(c.Member, now)
	case CmdHeartbeat:
		err = st.heartbeat(c.Beat)
	case CmdIncident:
		err = st.incident(c.Incident, now)
	case CmdNotifyCursor:
		err = st.notifyCursor(c.Cursor, now)
	case CmdProviderSync:
		err = st.providerSync(c.Provider, now)
	default:
		err = fmt.Errorf("%w %q", errUnknownCommand, c.Type)
	}
	if err != nil {
		return err
	}
	st.Now = now
	if c.ID != "" {
		st.remember(c.ID)
	}
	if movesAnswers(c.Type) {
		st.derive(true)
	}
	return nil
}

// movesAnswers reports whether a command of type t may change what
// derive computes from (the spec, the observers, the overrides; members
// are observers too). The others (heartbeats, incidents, cursors,
// provider states) leave health and answers as they were, and skip
// recomputing them.
func movesAnswers(t CommandType) bool {
	switch t {
	case CmdHeartbeat, CmdIncident, CmdNotifyCursor, CmdProviderSync:
		return false
	}
	return true
}

// dedupEntries is for how many log entries a command ID is remembered:
// far more than pass while a proposal is retried (seconds), even with
// many heartbeats. Counted in entries, not time, so that a proposer's
// fast clock cannot make the state forget early.
const dedupEntries = 50_000

// remember notes that command id was applied at the current index and
// forgets IDs older than dedupEntries entries.
func (st *State) remember(id string) {
	if st.Applied == nil {
		st.Applied = map[string]uint64{}
	}
	for k, at := range st.Applied {
		if st.Index-at > dedupEntries {
			delete(st.Applied, k)
		}
	}
	st.Applied[id] = st.Index
}

func (st *State) setSpec(c *SetSpec, now time.Time) error {
	if c == nil {
		return fmt.Errorf("%w: set_spec without a spec", ErrBadCommand)
	}
	if c.IfVersion != nil && *c.IfVersion != st.SpecVersion {
		return fmt.Errorf("%w: version %d is in force, not %d", ErrSpecChanged, st.SpecVersion, *c.IfVersion)
	}
	s, err := spec.Parse(c.YAML)
	if err != nil {
		return err
	}
	st.SpecYAML, st.spec = c.YAML, s
	st.SpecVersion++
	by := ""
	if c.Author != "" {
		by = " by " + c.Author
	}
	st.event(now, "spec", fmt.Sprintf("v%d", st.SpecVersion), fmt.Sprintf("spec version %d applied%s", st.SpecVersion, by))
	return nil
}

func (st *State) report(r *ObserverReport, now time.Time) error {
	if r == nil || r.Observer == "" {
		return fmt.Errorf("%w: report without an observer", ErrBadCommand)
	}
	o := st.Observers[r.Observer]
	if o == nil {
		o = &ObserverRecord{Verdicts: map[string]*Verdict{}}
		st.Observers[r.Observer] = o
		st.event(now, "observer", r.Observer, fmt.Sprintf("observer %s reports for the first time", r.Observer))
		o.Fresh = true
	}
	if !o.Fresh {
		o.Fresh = true
		st.event(now, "observer", r.Observer, fmt.Sprintf("observer %s is fresh again: its reports resumed", r.Observer))
	}
	o.LastReport = now
	for _, ch := range r.Changes {
		k := targetKey(ch.Pool, ch.Address)
		if ch.Forget {
			delete(o.Verdicts, k)
			continue
		}
		v := o.Verdicts[k]
		if v == nil || v.Up != ch.Up {
			v = &Verdict{Since: now}
			o.Verdicts[k] = v
		}
		v.Up, v.Reason, v.Latency = ch.Up, ch.Reason, ch.Latency
	}
	return nil
}

func (st *State) liveness(l *ObserverLiveness, now time.Time) error {
	if l == nil || l.Observer == "" {
		return fmt.Errorf("%w: liveness without an observer", ErrBadCommand)
	}
	o := st.Observers[l.Observer]
	if o == nil || o.Fresh == l.Fresh {
		return nil
	}
	o.Fresh = l.Fresh
	msg := fmt.Sprintf("observer %s is stale: %s; its verdicts no longer count", l.Observer, l.Reason)
	if l.Fresh {
		msg = fmt.Sprintf("observer %s is fresh again", l.Observer)
	}
	st.event(now, "observer", l.Observer, msg)
	return nil
}

func (st *State) setOverride(o *Override, now time.Time) error {
	if o == nil {
		return fmt.Errorf("%w: override missing", ErrBadCommand)
	}
	if st.spec == nil {
		return ErrNoSpec
	}
	if o.Reason == "" {
		return fmt.Errorf("%w: an override needs a reason", ErrBadCommand)
	}
	c := *o
	c.Created = now
	if c.For != "" {
		d, err := time.ParseDuration(c.For)
		if err != nil || d <= 0 {
			return fmt.Errorf("%w: override duration %q (want a positive Go duration such as 30m)", ErrBadCommand, c.For)
		}
		c.Expires = now.Add(d)
	}
	var subject string
	switch c.Kind {
	case OverrideDrain:
		scope, err := st.resolveTarget(c.Target)
		if err != nil {
			return err
		}
		subject = scope + " " + c.Target
	case OverridePin:
		r := st.record(c.Record, c.Type)
		if r == nil {
			return fmt.Errorf("%w: %s %s (records: %s)", ErrUnknownRecord, c.Record, c.Type, st.recordNames())
		}
		c.Record, c.Type = r.Name, r.Type
		found := false
		for _, ref := range r.Pools {
			found = found || ref.Pool == c.Pool
		}
		if !found {
			return fmt.Errorf("%w: pool %q is not one of %s's pools", ErrUnknownTarget, c.Pool, r.Name)
		}
		subject = "record " + r.Name + " " + r.Type
	default:
		return fmt.Errorf("%w: override kind %q (kinds: drain, pin)", ErrBadCommand, c.Kind)
	}
	if !c.Expires.IsZero() && !c.Expires.After(now) {
		return fmt.Errorf("%w: the override would expire at once (%s)", ErrBadCommand, c.Expires.Format(time.RFC3339))
	}
	st.Overrides[c.Key()] = &c
	msg := fmt.Sprintf("%s %s", c.Kind, subject)
	if c.Kind == OverridePin {
		msg += " to pool " + c.Pool
	}
	msg += fmt.Sprintf(" by %s: %s", orUnknown(c.Author), c.Reason)
	if !c.Expires.IsZero() {
		msg += fmt.Sprintf(" (until %s)", c.Expires.Format(time.RFC3339))
	}
	st.event(now, "override", c.Key(), msg)
	return nil
}

func (st *State) clearOverride(c *ClearOverride, now time.Time) error {
	if c == nil {
		return fmt.Errorf("%w: clear missing", ErrBadCommand)
	}
	if c.Kind == OverridePin {
		if r := st.record(c.Record, c.Type); r != nil {
			c.Record, c.Type = r.Name, r.Type
		}
	}
	k := c.key()
	o := st.Overrides[k]
	if o == nil {
		return fmt.Errorf("%w: no %s override for %s", ErrNotFound, c.Kind, strings.TrimPrefix(k, c.Kind+":"))
	}
	delete(st.Overrides, k)
	st.event(now, "override", k, fmt.Sprintf("%s cleared by %s (was: %s)", k, orUnknown(c.Author), o.Reason))
	return nil
}

func (st *State) expireOverrides(now time.Time) {
	for _, k := range slices.Sorted(maps.Keys(st.Overrides)) {
		o := st.Overrides[k]
		if !o.Expires.IsZero() && !o.Expires.After(now) {
			delete(st.Overrides, k)
			st.event(now, "override", k, fmt.Sprintf("%s expired (was: %s)", k, o.Reason))
		}
	}
}

func (st *State) heartbeat(b *Heartbeat) error {
	if b == nil || b.Check == "" || b.Endpoint == "" {
		return fmt.Errorf("%w: heartbeat without check or endpoint", ErrBadCommand)
	}
	if st.spec == nil {
		return ErrNoSpec
	}
	ok := false
	for _, c := range st.spec.Checks {
		if c.Name == b.Check {
			if c.Type != spec.CheckHeartbeat {
				return fmt.Errorf("%w: check %q is a %s check, not a heartbeat", ErrBadCommand, b.Check, c.Type)
			}
			ok = true
		}
	}
	if !ok {
		return fmt.Errorf("%w: no heartbeat check %q", ErrUnknownTarget, b.Check)
	}
	return nil // the beat itself goes to the engines (FSM.OnHeartbeat), not into the state
}

func (st *State) registerMember(m *Member, now time.Time) error {
	if m == nil || m.ID == "" {
		return fmt.Errorf("%w: member without an id", ErrBadCommand)
	}
	if old := st.Members[m.ID]; old != nil && *old == *m {
		return nil
	}
	c := *m
	st.Members[m.ID] = &c
	// A member counts as an observer from the start, with no verdicts:
	// the first node to report must not decide alone. If it never
	// reports, the leader marks it stale like any silent observer.
	if st.Observers[m.ID] == nil {
		st.Observers[m.ID] = &ObserverRecord{Fresh: true, LastReport: now, Verdicts: map[string]*Verdict{}}
	}
	st.event(now, "member", m.ID, fmt.Sprintf("member %s (datacenter %s, raft %s, dns %s, api %s) registered", m.ID, m.Datacenter, m.RaftAddr, m.DNSAddr, m.APIAddr))
	return nil
}

func (st *State) removeMember(m *Member, now time.Time) error {
	if m == nil || m.ID == "" {
		return fmt.Errorf("%w: member without an id", ErrBadCommand)
	}
	delete(st.Members, m.ID)
	delete(st.Observers, m.ID)
	st.event(now, "member", m.ID, fmt.Sprintf("member %s removed; its verdicts no longer count", m.ID))
	return nil
}

// resolveTarget says whether name is a datacenter, a pool or an endpoint.
func (st *State) resolveTarget(name string) (string, error) {
	s := st.spec
	if pool, addr, ok := strings.Cut(name, "/"); ok {
		for _, p := range s.Pools {
			if p.Name != pool {
				continue
			}
			for _, ep := range p.Endpoints {
				if ep.Address == addr {
					return "endpoint", nil
				}
			}
			return "", fmt.Errorf("%w: pool %s has no endpoint %s", ErrUnknownTarget, pool, addr)
		}
		return "", fmt.Errorf("%w: pool %q", ErrUnknownTarget, pool)
	}
	isDC, isPool := false, false
	for _, d := range s.Datacenters {
		isDC = isDC || d.Name == name
	}
	for _, p := range s.Pools {
		isPool = isPool || p.Name == name
	}
	switch {
	case isDC && isPool:
		return "", fmt.Errorf("%w: %q is both a datacenter and a pool; rename one", ErrUnknownTarget, name)
	case isDC:
		return "datacenter", nil
	case isPool:
		return "pool", nil
	}
	var dcs, pools []string
	for _, d := range s.Datacenters {
		dcs = append(dcs, d.Name)
	}
	for _, p := range s.Pools {
		pools = append(pools, p.Name)
	}
	return "", fmt.Errorf("%w: %q (datacenters: %s; pools: %s; endpoints: pool/address)", ErrUnknownTarget, name, strings.Join(dcs, ", "), strings.Join(pools, ", "))
}

// record finds a health-driven record by name (any form) and type (empty:
// the only record of that name).
func (st *State) record(name, typ string) *spec.Record {
	name = strings.ToLower(strings.TrimSuffix(name, ".")) + "."
	var found *spec.Record
	for i := range st.spec.Records {
		r := &st.spec.Records[i]
		if r.Name == name && (typ == "" || strings.EqualFold(r.Type, typ)) {
			if found != nil {
				return nil // ambiguous without a type
			}
			found = r
		}
	}
	return found
}

func (st *State) recordNames() string {
	var n []string
	for _, r := range st.spec.Records {
		n = append(n, r.Name+" "+r.Type)
	}
	return strings.Join(n, ", ")
}

func (st *State) event(now time.Time, kind, subject, msg string) {
	st.NextEvent++
	st.Events = append(st.Events, Event{Seq: st.NextEvent, Time: now, Kind: kind, Subject: subject, Message: msg})
	if over := len(st.Events) - MaxEvents; over > 0 {
		st.Events = append(st.Events[:0:0], st.Events[over:]...)
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
