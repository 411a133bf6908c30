package api

import "github.com/seed3787e6f1/detour/internal/api/wire"

// The API's request and reply bodies are declared in package wire, the
// contract clients decode; these aliases keep their names here for the
// server's callers and tests.
type (
	// Error is every error the API returns (wire.Error).
	Error = wire.Error
	// Problem is one problem of a spec (wire.Problem).
	Problem = wire.Problem
	// Freshness says how current a node's reads are (wire.Freshness).
	Freshness = wire.Freshness
	// Done is the reply to a write with nothing more to say (wire.Done).
	Done = wire.Done

	// Status is GET /v1/status (wire.Status).
	Status = wire.Status
	// ObserverStatus is an observer's standing (wire.ObserverStatus).
	ObserverStatus = wire.ObserverStatus
	// DatacenterStatus is a datacenter's health (wire.DatacenterStatus).
	DatacenterStatus = wire.DatacenterStatus
	// PoolStatus is a pool's health (wire.PoolStatus).
	PoolStatus = wire.PoolStatus
	// EndpointStatus is an endpoint's health (wire.EndpointStatus).
	EndpointStatus = wire.EndpointStatus
	// ObserverView is an observer's verdict (wire.ObserverView).
	ObserverView = wire.ObserverView
	// RecordStatus is a record's answer (wire.RecordStatus).
	RecordStatus = wire.RecordStatus

	// DrainRequest is the body of a drain or undrain (wire.DrainRequest).
	DrainRequest = wire.DrainRequest
	// PinRequest is the body of a pin or release (wire.PinRequest).
	PinRequest = wire.PinRequest
	// OverridesResponse is GET /v1/overrides (wire.OverridesResponse).
	OverridesResponse = wire.OverridesResponse
	// OverrideResult is the reply to an override change
	// (wire.OverrideResult).
	OverrideResult = wire.OverrideResult

	// IncidentRequest is the body of an incident change
	// (wire.IncidentRequest).
	IncidentRequest = wire.IncidentRequest
	// IncidentResult is the reply to an incident change
	// (wire.IncidentResult).
	IncidentResult = wire.IncidentResult
	// IncidentsResponse is GET /v1/incidents (wire.IncidentsResponse).
	IncidentsResponse = wire.IncidentsResponse

	// EventsResponse is GET /v1/events (wire.EventsResponse).
	EventsResponse = wire.EventsResponse

	// MembersResponse is GET /v1/members (wire.MembersResponse).
	MembersResponse = wire.MembersResponse
	// AddMember is the body of POST /v1/members (wire.AddMember).
	AddMember = wire.AddMember

	// SpecResponse is GET and PUT /v1/spec (wire.SpecResponse).
	SpecResponse = wire.SpecResponse
	// SpecRequest is the body of a spec apply or diff (wire.SpecRequest).
	SpecRequest = wire.SpecRequest
	// SpecDiff is the reply to POST /v1/spec/diff (wire.SpecDiff).
	SpecDiff = wire.SpecDiff

	// DrillRequest is the body of POST /v1/drill (wire.DrillRequest).
	DrillRequest = wire.DrillRequest
	// DrillResult is the reply to POST /v1/drill (wire.DrillResult).
	DrillResult = wire.DrillResult
	// DrillControlPlane is the voters a drill leaves
	// (wire.DrillControlPlane).
	DrillControlPlane = wire.DrillControlPlane
	// DrillRecord is a record's answer in a drill (wire.DrillRecord).
	DrillRecord = wire.DrillRecord

	// Guard is dry_run and force (wire.Guard).
	Guard = wire.Guard
	// Impact is the reply to a dry run (wire.Impact).
	Impact = wire.Impact
	// RecordImpact is a record before and after (wire.RecordImpact).
	RecordImpact = wire.RecordImpact
	// RecordAnswer is what a record answers (wire.RecordAnswer).
	RecordAnswer = wire.RecordAnswer
	// RefusalError is the body of a guarded write refused
	// (wire.RefusalError).
	RefusalError = wire.RefusalError

	// PlanResponse is GET /v1/providers/plan (wire.PlanResponse).
	PlanResponse = wire.PlanResponse
)
