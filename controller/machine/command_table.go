package machine

import (
	"fmt"
	"slices"
	"time"
)

// commandDef declares one command type: everything the state machine,
// the proposer and the forwarding node need to know of it, in one place.
// Adding a command is adding a constant, its payload field in Command
// and one entry in commandTable.
type commandDef struct {
	typ CommandType
	// payload returns the command's payload, nil when it has none; a
	// command without the payload its type needs is malformed. nil for
	// commands that carry none.
	payload func(*Command) any
	// apply changes the state by one command of this type and says what
	// it did. It must read nothing but the state, the command and now.
	apply func(st *State, c *Command, now time.Time) (Result, error)
	// onceOnly commands carry an ID so that a copy retried after a
	// leader change is not applied twice (and answers with the first
	// copy's result): everything a person sends, and anything whose
	// second copy would do harm or answer wrongly. The frequent and
	// idempotent ones (reports, beats, cursors, sync states) carry none.
	onceOnly bool
	// leaderOnly commands are the leader's own decisions, made from its
	// view: they are never forwarded, and a member cannot send them
	// through the node port.
	leaderOnly bool
	// movesAnswers commands may change what derive computes from (the
	// spec, the observers, the overrides; members are observers too);
	// the others skip recomputing health and answers.
	movesAnswers bool
}

// payloadOf adapts a field accessor to commandDef.payload: a nil pointer
// is no payload.
func payloadOf[T any](get func(*Command) *T) func(*Command) any {
	return func(c *Command) any {
		if p := get(c); p != nil {
			return p
		}
		return nil
	}
}

// commandTable is every command this version can apply. It is read-only.
var commandTable = []commandDef{
	{
		typ: CmdSetSpec, payload: payloadOf(func(c *Command) *SetSpec { return c.Spec }),
		onceOnly: true, movesAnswers: true,
		apply: func(st *State, c *Command, now time.Time) (Result, error) {
			// Staged: in force once compiled, at its activate_spec
			// entry (stage.go); Propose waits for that.
			err := st.stage(c.Spec, now)
			if sg := st.Staged; err == nil && sg != nil {
				// The version it made, not the one still in force.
				return Result{SpecVersion: sg.Version, StagedAt: sg.Index}, nil
			}
			return Result{SpecVersion: st.SpecVersion}, err
		},
	},
	{
		typ: CmdActivateSpec, payload: payloadOf(func(c *Command) *ActivateSpec { return c.Activate }),
		// The leader's own: it activates what it compiled; a new
		// leader proposes its own activation (activateStaged).
		leaderOnly: true, movesAnswers: true,
		apply: func(st *State, c *Command, now time.Time) (Result, error) {
			err := st.activate(c.Activate, now)
			return Result{SpecVersion: st.SpecVersion}, err
		},
	},
	{
		typ: CmdObserverReport, payload: payloadOf(func(c *Command) *ObserverReport { return c.Report }),
		movesAnswers: true,
		apply: func(st *State, c *Command, now time.Time) (Result, error) {
			return Result{}, st.report(c.Report, now)
		},
	},
	{
		typ: CmdObserverLiveness, payload: payloadOf(func(c *Command) *ObserverLiveness { return c.Liveness }),
		leaderOnly: true, movesAnswers: true,
		apply: func(st *State, c *Command, now time.Time) (Result, error) {
			return Result{}, st.liveness(c.Liveness, now)
		},
	},
	{
		typ: CmdSetOverride, payload: payloadOf(func(c *Command) *Override { return c.Override }),
		onceOnly: true, movesAnswers: true,
		apply: func(st *State, c *Command, now time.Time) (Result, error) {
			o, err := st.setOverride(c.Override, now)
			return Result{Override: o.clone()}, err
		},
	},
	{
		typ: CmdClearOverride, payload: payloadOf(func(c *Command) *ClearOverride { return c.Clear }),
		onceOnly: true, movesAnswers: true,
		apply: func(st *State, c *Command, now time.Time) (Result, error) {
			o, err := st.clearOverride(c.Clear, now)
			return Result{Override: o.clone()}, err
		},
	},
	{
		typ: CmdExpireOverrides, leaderOnly: true, movesAnswers: true,
		apply: func(st *State, _ *Command, now time.Time) (Result, error) {
			st.expireOverrides(now)
			return Result{}, nil
		},
	},
	{
		typ: CmdRegisterMember, payload: payloadOf(func(c *Command) *Member { return c.Member }),
		onceOnly: true, movesAnswers: true,
		apply: func(st *State, c *Command, now time.Time) (Result, error) {
			return Result{}, st.registerMember(c.Member, now)
		},
	},
	{
		typ: CmdRemoveMember, payload: payloadOf(func(c *Command) *Member { return c.Member }),
		onceOnly: true, movesAnswers: true,
		apply: func(st *State, c *Command, now time.Time) (Result, error) {
			return Result{}, st.removeMember(c.Member, now)
		},
	},
	{
		typ: CmdHeartbeat, payload: payloadOf(func(c *Command) *Heartbeat { return c.Beat }),
		apply: func(st *State, c *Command, _ time.Time) (Result, error) {
			return Result{}, st.heartbeat(c.Beat)
		},
	},
	{
		typ: CmdIncident, payload: payloadOf(func(c *Command) *IncidentCommand { return c.Incident }),
		onceOnly: true,
		apply: func(st *State, c *Command, now time.Time) (Result, error) {
			id, err := st.incident(c.Incident, now)
			return Result{Incident: id}, err
		},
	},
	{
		typ: CmdNotifyCursor, payload: payloadOf(func(c *Command) *NotifyCursor { return c.Cursor }),
		leaderOnly: true,
		apply: func(st *State, c *Command, now time.Time) (Result, error) {
			return Result{}, st.notifyCursor(c.Cursor, now)
		},
	},
	{
		typ: CmdProviderSync, payload: payloadOf(func(c *Command) *ProviderSync { return c.Provider }),
		leaderOnly: true,
		apply: func(st *State, c *Command, now time.Time) (Result, error) {
			return Result{}, st.providerSync(c.Provider, now)
		},
	},
	{
		typ: CmdClusterID, payload: payloadOf(func(c *Command) *ClusterIDCommand { return c.Cluster }),
		leaderOnly: true,
		apply: func(st *State, c *Command, _ time.Time) (Result, error) {
			return Result{}, st.applyClusterID(c.Cluster)
		},
	},
	{
		typ: CmdMembership, payload: payloadOf(func(c *Command) *MembershipChange { return c.Membership }),
		onceOnly: true, movesAnswers: true, // members are observers
		apply: func(st *State, c *Command, now time.Time) (Result, error) {
			return Result{}, st.membership(c.Membership, now)
		},
	},
}

// lookupCommand returns the declaration of command type t.
func lookupCommand(t CommandType) (commandDef, bool) {
	i := slices.IndexFunc(commandTable, func(d commandDef) bool { return d.typ == t })
	if i < 0 {
		return commandDef{}, false
	}
	return commandTable[i], true
}

// Known reports whether this version can apply commands of type t: the
// leader refuses the others before they reach the log, and a replica
// that meets one there halts (ErrUnknownCommand).
func (t CommandType) Known() bool {
	_, ok := lookupCommand(t)
	return ok
}

// OnceOnly reports whether commands of type t carry an ID, so that a
// copy retried after a leader change is not applied twice (see
// commandDef.onceOnly).
func (t CommandType) OnceOnly() bool {
	d, _ := lookupCommand(t)
	return d.onceOnly
}

// LeaderOnly reports whether commands of type t are the leader's own
// decisions, never forwarded (see commandDef.leaderOnly).
func (t CommandType) LeaderOnly() bool {
	d, _ := lookupCommand(t)
	return d.leaderOnly
}

// movesAnswers reports whether a command of type t may change health or
// answers (see commandDef.movesAnswers). An unknown type is assumed to.
func movesAnswers(t CommandType) bool {
	d, ok := lookupCommand(t)
	return !ok || d.movesAnswers
}

// checkPayload refuses a command without the payload its type needs.
func checkPayload(d commandDef, c *Command) error {
	if d.payload != nil && d.payload(c) == nil {
		return fmt.Errorf("%w: %s without its payload", ErrBadCommand, c.Type)
	}
	return nil
}
