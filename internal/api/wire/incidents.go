package wire

import "time"

// Incident actions of IncidentRequest.Action.
const (
	ActionUpdate  = "update"
	ActionResolve = "resolve"
)

// IncidentRequest is the body of POST /v1/incidents (open) and POST
// /v1/incidents/{id} (update or resolve).
type IncidentRequest struct {
	// Action is update (default) or resolve for /v1/incidents/{id};
	// opening takes none.
	Action  string `json:"action,omitempty"`
	Title   string `json:"title,omitempty"`
	Message string `json:"message,omitempty"`
	// ETA is when service is expected back: a Go duration from now
	// ("2h") or an RFC 3339 time.
	ETA      string `json:"eta,omitempty"`
	ClearETA bool   `json:"clear_eta,omitempty"`
}

// IncidentResult is the reply to an open, update or resolve: the
// incident as the node asked holds it once it has applied the change.
type IncidentResult struct {
	Message string `json:"message"`
	// ID is the incident's, as the cluster numbered it.
	ID       string    `json:"id,omitempty"`
	Incident *Incident `json:"incident,omitempty"`
	// Index is the log index of the latest change in the state the
	// incident is read from; WriteIndex is the change's own (see
	// OverrideResult).
	Index      uint64 `json:"index"`
	WriteIndex uint64 `json:"write_index"`
}

// IncidentsResponse is GET /v1/incidents: open incidents first, then the
// resolved ones, newest first in each.
type IncidentsResponse struct {
	Incidents []*Incident `json:"incidents"`
	// Index is the log index of the latest change in the state shown.
	Index     uint64    `json:"index"`
	Freshness Freshness `json:"freshness"`
}

// Incident is what customers are told: a title, updates, an expected
// resolution time.
type Incident struct {
	ID       string           `json:"id"`
	Title    string           `json:"title"`
	Status   string           `json:"status"` // open, resolved
	ETA      time.Time        `json:"eta,omitzero"`
	Opened   time.Time        `json:"opened"`
	Resolved time.Time        `json:"resolved,omitzero"`
	Updates  []IncidentUpdate `json:"updates"`
	// Current is the automatic incident's word on each service it
	// concerns: one current message per service.
	Current []ServiceNote `json:"current,omitempty"`
}

// IncidentUpdate is one message of an incident, newest last.
type IncidentUpdate struct {
	Time    time.Time `json:"time"`
	Status  string    `json:"status"`
	Message string    `json:"message"`
	Author  string    `json:"author,omitempty"`
}

// ServiceNote is the automatic incident's current word on one service.
type ServiceNote struct {
	Service string    `json:"service"`
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
	// Seq is the event the word tells of; Healthy says the service is
	// back on its first choice.
	Seq     uint64 `json:"seq,omitempty"`
	Healthy bool   `json:"healthy,omitempty"`
}
