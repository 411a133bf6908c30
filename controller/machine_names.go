package controller

// The state machine lives in package machine; these names keep the
// callers of controller as they were (the store's own code, the API,
// the notifier, the providers). New code may use either.

import (
	"github.com/seed3787e6f1/detour/controller/machine"
	"github.com/seed3787e6f1/detour/spec"
)

// The state machine's types.
type (
	ActivateSpec     = machine.ActivateSpec
	ClearOverride    = machine.ClearOverride
	ClusterIDCommand = machine.ClusterIDCommand
	Command          = machine.Command
	Event            = machine.Event
	FailbackHold     = machine.FailbackHold
	Heartbeat        = machine.Heartbeat
	Incident         = machine.Incident
	IncidentCommand  = machine.IncidentCommand
	IncidentUpdate   = machine.IncidentUpdate
	Member           = machine.Member
	MembershipChange = machine.MembershipChange
	NotifyCursor     = machine.NotifyCursor
	ObserverLiveness = machine.ObserverLiveness
	ObserverReport   = machine.ObserverReport
	Override         = machine.Override
	ProviderSync     = machine.ProviderSync
	Result           = machine.Result
	ServiceNote      = machine.ServiceNote
	SetSpec          = machine.SetSpec
	StagedSpec       = machine.StagedSpec
	State            = machine.State
	Verdict          = machine.Verdict
	VerdictChange    = machine.VerdictChange
	View             = machine.View
	AllUp            = machine.AllUp
	Decision         = machine.Decision
	EndpointHealth   = machine.EndpointHealth
	Health           = machine.Health
)

// The state machine's constants.
const (
	CmdSetSpec            = machine.CmdSetSpec
	CmdObserverReport     = machine.CmdObserverReport
	CmdObserverLiveness   = machine.CmdObserverLiveness
	CmdSetOverride        = machine.CmdSetOverride
	CmdClearOverride      = machine.CmdClearOverride
	CmdExpireOverrides    = machine.CmdExpireOverrides
	CmdRegisterMember     = machine.CmdRegisterMember
	CmdRemoveMember       = machine.CmdRemoveMember
	CmdHeartbeat          = machine.CmdHeartbeat
	CmdIncident           = machine.CmdIncident
	CmdNotifyCursor       = machine.CmdNotifyCursor
	CmdProviderSync       = machine.CmdProviderSync
	CmdMembership         = machine.CmdMembership
	CmdActivateSpec       = machine.CmdActivateSpec
	CmdClusterID          = machine.CmdClusterID
	OverrideDrain         = machine.OverrideDrain
	OverridePin           = machine.OverridePin
	OverrideFailback      = machine.OverrideFailback
	IncidentActionOpen    = machine.IncidentActionOpen
	IncidentActionUpdate  = machine.IncidentActionUpdate
	IncidentActionResolve = machine.IncidentActionResolve
	IncidentActionCurrent = machine.IncidentActionCurrent
	MaxIncidentTitle      = machine.MaxIncidentTitle
	MaxIncidentMessage    = machine.MaxIncidentMessage
	MaxIncidentUpdates    = machine.MaxIncidentUpdates
	MaxOpenIncidents      = machine.MaxOpenIncidents
	MemberAdd             = machine.MemberAdd
	MemberPromote         = machine.MemberPromote
	MemberRemove          = machine.MemberRemove
	MemberStepDown        = machine.MemberStepDown
	MemberLeader          = machine.MemberLeader
	NeverSeenUp           = machine.NeverSeenUp
)

// The state machine's sentinel errors: the same values, so errors.Is
// matches either name.
var (
	ErrNoSpec           = machine.ErrNoSpec
	ErrUnknownTarget    = machine.ErrUnknownTarget
	ErrUnknownRecord    = machine.ErrUnknownRecord
	ErrBadCommand       = machine.ErrBadCommand
	ErrNotFound         = machine.ErrNotFound
	ErrSpecChanged      = machine.ErrSpecChanged
	ErrUnknownIncident  = machine.ErrUnknownIncident
	ErrIncidentResolved = machine.ErrIncidentResolved
	ErrIncidentLimit    = machine.ErrIncidentLimit
	ErrSnapshotFormat   = machine.ErrSnapshotFormat
)

// DecodeCommand parses a Raft log entry.
func DecodeCommand(b []byte) (*Command, error) { return machine.DecodeCommand(b) }

// ParsedSpec is a SetSpec of a spec the caller has parsed and validated
// already (machine.ParsedSpec).
func ParsedSpec(sp *spec.Spec, yaml []byte, author string) *SetSpec {
	return machine.ParsedSpec(sp, yaml, author)
}

// Evaluate decides the answer of every health-driven record of s.
func Evaluate(s *spec.Spec, h Health) []Decision { return machine.Evaluate(s, h) }

// EvaluatePinned is Evaluate with pins: a record pinned to a pool (key
// "name/type") answers from that pool whatever the health says.
func EvaluatePinned(s *spec.Spec, h Health, pins map[string]*Override) []Decision {
	return machine.EvaluatePinned(s, h, pins)
}
