package wire

import "time"

// EventsResponse is GET /v1/events.
type EventsResponse struct {
	Events []Event `json:"events"`
	// Last is the sequence number to pass as ?after= next time.
	Last      uint64    `json:"last"`
	Freshness Freshness `json:"freshness"`
}

// Event is one entry of the audit log; a server-sent event's data is
// one Event.
type Event struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"` // spec, endpoint, record, override, observer, member
	Subject string    `json:"subject"`
	Message string    `json:"message"`
}
