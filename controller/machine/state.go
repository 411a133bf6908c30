package machine

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

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

	// ErrUnknownCommand halts the replica rather than refusing: a
	// newer leader committed a command this version cannot apply, and
	// refusing it here while newer replicas apply it would diverge.
	ErrUnknownCommand = errors.New("unknown command type")
)

// MaxEvents bounds the event log kept in the replicated state.
const MaxEvents = 1000

// State is the replicated state. Only apply changes it, and apply reads
// nothing but the command, so every replica holds the same state.
type State struct {
	SpecYAML []byte `json:"spec_yaml,omitempty"`
	// SpecHash names the spec in force by the SHA-256 of its text as
	// committed (hex): snapshots of format 2 carry the spec itself in
	// its canonical JSON, not the text (snapshot_v2.go).
	SpecHash    string                     `json:"spec_sha256,omitempty"`
	SpecVersion uint64                     `json:"spec_version"`
	Observers   map[string]*ObserverRecord `json:"observers"`
	Overrides   map[string]*Override       `json:"overrides"`
	Members     map[string]*Member         `json:"members"`
	Events      []Event                    `json:"events"`
	NextEvent   uint64                     `json:"next_event"`
	// Serials are the zones' SOA serials, by origin (serials.go).
	Serials map[string]ZoneSerial `json:"versions,omitempty"`
	// Incidents by ID; NextIncident numbers them.
	Incidents    map[string]*Incident `json:"incidents,omitempty"`
	NextIncident uint64               `json:"next_incident,omitempty"`
	// Providers is the leader's last word on each provider's sync.
	Providers map[string]*ProviderSync `json:"providers,omitempty"`
	// Cursors say what each notification channel has delivered.
	Cursors map[string]*NotifyCursor `json:"cursors,omitempty"`
	// Holds are the failback holds in force, by name/type (failback.go).
	Holds map[string]*FailbackHold `json:"failback_holds,omitempty"`
	// LastKnown is the last verdict the observers reached on each
	// endpoint: it stands while no fresh observer judges the endpoint
	// (see remembered).
	LastKnown map[string]LastVerdict `json:"last_known,omitempty"`
	// Now is the time of the latest command applied: the state's clock.
	Now time.Time `json:"now"`
	// Applied holds the IDs of the commands applied within the last
	// dedupEntries log entries, with the index each applied at, so that
	// a retried copy is not applied twice.
	Applied map[string]uint64 `json:"applied,omitempty"`
	// Results holds what each command in Applied produced, for the
	// retried copy to answer with (see Result).
	Results map[string]Result `json:"results,omitempty"`
	// Index and Term are those of the last log entry applied; the FSM
	// keeps them, so that a snapshot says which entries it holds.
	Index uint64 `json:"index,omitempty"`
	Term  uint64 `json:"term,omitempty"`
	// ClusterID is the cluster's identity (clusterid.go).
	ClusterID string `json:"cluster_id,omitempty"`
	// Joining are the members waiting to become voters, and LeaderID
	// the leader last announced (membership.go).
	Joining  map[string]*Joining `json:"joining,omitempty"`
	LeaderID string              `json:"leader_id,omitempty"`
	// NonVoters are the members added as non-voters (joining or for
	// good): they do not observe, so they hold no observer record.
	NonVoters map[string]bool `json:"non_voters,omitempty"`
	// Staged is the spec committed but not yet in force (stage.go).
	Staged *StagedSpec `json:"staged,omitempty"`

	spec *spec.Spec
	// compile returns the compiled spec of a staged one (the FSM's
	// background compile); nil puts a spec in force as it applies.
	compile func(*StagedSpec) (*spec.Spec, []byte, error)
	refused *specRefusal
	// derived from the above, to tell what changed; no view holds
	// health (deriveSome changes it in place), decisions are replaced
	health    map[string]EndpointHealth
	decisions []Decision
	cause     CommandType // of the command being applied, for holdFailbacks
	// delta is what the report being applied changed, when only its
	// endpoints' verdicts changed (derive_some.go); ix indexes the spec
	// in force for it.
	delta *verdictDelta
	ix    *specIndex
	// fullDerive makes every apply derive everything (tests compare).
	fullDerive bool
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
	// First is set while the verdict is the observer's first on the
	// endpoint: it has never said otherwise (see neverUp).
	First bool `json:"first,omitempty"`
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

// apply changes the state by one command, logs what changed and says
// what the command did (see commandTable). An error leaves the state
// unchanged.
func (st *State) apply(c *Command) (Result, error) {
	now := c.Time.UTC()
	if now.Before(st.Now) {
		now = st.Now // proposers' clocks differ; the state's never goes back
	}
	if at, dup := st.Applied[c.ID]; dup && c.ID != "" {
		return st.firstResult(c.ID, at), nil // a retried copy of a command already applied
	}
	def, ok := lookupCommand(c.Type)
	if !ok {
		return Result{}, fmt.Errorf("%w %q: a newer version wrote this entry; upgrade this node", ErrUnknownCommand, c.Type)
	}
	if err := checkPayload(def, c); err != nil {
		return Result{}, err
	}
	before, specBefore := st.decisions, st.spec
	defer st.trimEvents()
	st.delta = nil
	res, err := def.apply(st, c, now)
	if err != nil {
		return Result{}, err
	}
	st.Now = now
	res.Index = st.Index
	if c.ID != "" {
		st.rememberResult(c.ID, res)
	}
	// Staging a spec (set_spec with a compiler) changes nothing derive
	// reads: the spec goes in force at its activate_spec.
	staged := c.Type == CmdSetSpec && st.spec == specBefore
	if def.movesAnswers && !staged {
		st.cause = c.Type
		if d := st.delta; d != nil && st.spec != nil && st.spec == specBefore && !st.fullDerive {
			st.deriveSome(d)
		} else {
			st.derive(true)
		}
		st.delta = nil
		st.updateSerials(before, specBefore)
	}
	return res, nil
}

// dedupEntries is for how many log entries a command ID is remembered:
// far more than pass while a proposal is retried (seconds), even with
// many heartbeats. Counted in entries, not time, so that a proposer's
// fast clock cannot make the state forget early.
const dedupEntries = 50_000

// remember notes that command id was applied at the current index and
// forgets IDs older than dedupEntries entries. The map is replaced, never
// changed in place: views share it (a snapshot reads it from the view).
func (st *State) remember(id string) {
	next := make(map[string]uint64, len(st.Applied)+1)
	for k, at := range st.Applied {
		if st.Index-at <= dedupEntries {
			next[k] = at
		}
	}
	next[id] = st.Index
	st.Applied = next
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
	st.SpecYAML, st.SpecHash, st.spec = c.YAML, specHash(c.YAML), s
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
	if o != nil && o.Fresh {
		// Only these endpoints' verdicts change: derive_some.go.
		st.delta = &verdictDelta{keys: make([]string, 0, len(r.Changes))}
		for _, ch := range r.Changes {
			st.delta.keys = append(st.delta.keys, targetKey(ch.Pool, ch.Address))
		}
	}
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
		// A verdict stored is never changed: a new one replaces it, so
		// that views share the verdicts they did not see change.
		old := o.Verdicts[k]
		v := &Verdict{Since: now, First: old == nil}
		if old != nil && old.Up == ch.Up {
			v.Since, v.First = old.Since, old.First
		}
		v.Up, v.Reason, v.Latency = ch.Up, ch.Reason, ch.Latency
		o.Verdicts[k] = v
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
	if !l.Fresh && !l.LastReport.IsZero() && !l.LastReport.Equal(o.LastReport) {
		return nil // it reported after the leader judged it silent
	}
	o.Fresh = l.Fresh
	msg := fmt.Sprintf("observer %s is stale: %s; its verdicts no longer count", l.Observer, l.Reason)
	if l.Fresh {
		msg = fmt.Sprintf("observer %s is fresh again", l.Observer)
	}
	st.event(now, "observer", l.Observer, msg)
	return nil
}

// setOverride stores o and returns it as stored.
func (st *State) setOverride(o *Override, now time.Time) (*Override, error) {
	if o == nil {
		return nil, fmt.Errorf("%w: override missing", ErrBadCommand)
	}
	if st.spec == nil {
		return nil, ErrNoSpec
	}
	if o.Reason == "" {
		return nil, fmt.Errorf("%w: an override needs a reason", ErrBadCommand)
	}
	c := *o
	c.Created = now
	if c.For != "" {
		d, err := time.ParseDuration(c.For)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%w: override duration %q (want a positive Go duration such as 30m)", ErrBadCommand, c.For)
		}
		c.Expires = now.Add(d)
	}
	var subject string
	switch c.Kind {
	case OverrideDrain:
		scope, err := st.resolveTarget(c.Target)
		if err != nil {
			return nil, err
		}
		subject = scope + " " + c.Target
	case OverridePin:
		r := st.record(c.Record, c.Type)
		if r == nil {
			return nil, st.unknownRecord(c.Record, c.Type)
		}
		c.Record, c.Type = r.Name, r.Type
		found := false
		for _, ref := range r.Pools {
			found = found || ref.Pool == c.Pool
		}
		if !found {
			return nil, fmt.Errorf("%w: pool %q is not one of %s's pools", ErrUnknownTarget, c.Pool, r.Name)
		}
		subject = "record " + r.Name + " " + r.Type
	default:
		return nil, fmt.Errorf("%w: override kind %q (kinds: drain, pin)", ErrBadCommand, c.Kind)
	}
	if !c.Expires.IsZero() && !c.Expires.After(now) {
		return nil, fmt.Errorf("%w: the override would expire at once (%s)", ErrBadCommand, c.Expires.Format(time.RFC3339))
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
	return &c, nil
}

// clearOverride removes an override and returns it.
func (st *State) clearOverride(c *ClearOverride, now time.Time) (*Override, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: clear missing", ErrBadCommand)
	}
	if c.Kind == OverrideFailback {
		return nil, st.releaseHold(c, now)
	}
	if c.Kind == OverridePin {
		if r := st.record(c.Record, c.Type); r != nil {
			c.Record, c.Type = r.Name, r.Type
		}
	}
	k := c.key()
	o := st.Overrides[k]
	if o == nil {
		return nil, fmt.Errorf("%w: no %s override for %s", ErrNotFound, c.Kind, strings.TrimPrefix(k, c.Kind+":"))
	}
	delete(st.Overrides, k)
	st.event(now, "override", k, fmt.Sprintf("%s cleared by %s (was: %s)", k, orUnknown(c.Author), o.Reason))
	return o, nil
}

func (st *State) expireOverrides(now time.Time) {
	for _, k := range slices.Sorted(maps.Keys(st.Overrides)) {
		o := st.Overrides[k]
		if !o.Expires.IsZero() && !o.Expires.After(now) {
			delete(st.Overrides, k)
			st.event(now, "override", k, fmt.Sprintf("%s expired (was: %s)", k, o.Reason))
		}
	}
	st.expireHolds(now)
}

func (st *State) heartbeat(b *Heartbeat) error {
	if b == nil || b.Check == "" || b.Endpoint == "" {
		return fmt.Errorf("%w: heartbeat without check or endpoint", ErrBadCommand)
	}
	if st.spec == nil {
		return ErrNoSpec
	}
	// The endpoint was validated before proposing (Beats); applying
	// checks the check only, as every version did, so that replicas of
	// mixed versions refuse the same entries.
	switch _, _, err := st.spec.HeartbeatTarget(b.Check, b.Endpoint); {
	case errors.Is(err, spec.ErrNotHeartbeat):
		return fmt.Errorf("%w: %w", ErrBadCommand, err)
	case errors.Is(err, spec.ErrUnknownCheck):
		return fmt.Errorf("%w: %w", ErrUnknownTarget, err)
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
	if st.Observers[m.ID] == nil && !st.NonVoters[m.ID] {
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

// resolveTarget says whether name is a datacenter, a pool or an endpoint
// (spec.ResolveTarget).
func (st *State) resolveTarget(name string) (string, error) {
	t, err := st.spec.ResolveTarget(name)
	if te, ok := errors.AsType[*spec.TargetError](err); ok {
		return "", fmt.Errorf("%w: %s", ErrUnknownTarget, te.Detail())
	} else if err != nil {
		return "", fmt.Errorf("%w: %w", ErrUnknownTarget, err)
	}
	return t.Kind, nil
}

// record finds a health-driven record by name (any form) and type (empty:
// the only record of that name), or nil (spec.FindRecord).
func (st *State) record(name, typ string) *spec.Record {
	r, _ := st.spec.FindRecord(name, typ)
	return r
}

// unknownRecord is the error for a record name and type the spec does not
// resolve to one record.
func (st *State) unknownRecord(name, typ string) error {
	_, err := st.spec.FindRecord(name, typ)
	var records []string
	if re, ok := errors.AsType[*spec.RecordError](err); ok {
		records = re.Records
	}
	return fmt.Errorf("%w: %s %s (records: %s)", ErrUnknownRecord, name, typ, strings.Join(records, ", "))
}

func (st *State) event(now time.Time, kind, subject, msg string) {
	st.NextEvent++
	st.Events = append(st.Events, Event{Seq: st.NextEvent, Time: now, Kind: kind, Subject: subject, Message: msg})
	if len(st.Events) >= 2*MaxEvents {
		st.trimEvents() // a command that logs thousands (answers moving for every record)
	}
}

// trimEvents keeps the latest MaxEvents events. apply trims once, as it
// ends, rather than at every event: a report that moves the answers of
// 10,000 records logs 10,000 events, and trimming each time copied the
// whole log each time (seconds under the FSM lock). The state after
// apply is the same either way.
func (st *State) trimEvents() {
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
