package wire

import "time"

// Override kinds, as Override.Kind says them.
const (
	OverrideDrain = "drain"
	OverridePin   = "pin"
)

// DrainRequest is the body of POST /v1/overrides/drain and /undrain.
type DrainRequest struct {
	// Target is a datacenter, a pool, or pool/address.
	Target string `json:"target"`
	Reason string `json:"reason,omitempty"`
	// For is how long the drain holds (Go duration); empty holds until
	// undrained.
	For string `json:"for,omitempty"`
	// Guard: dry_run and force (drain only).
	Guard
}

// PinRequest is the body of POST /v1/overrides/pin and /release.
type PinRequest struct {
	Record string `json:"record"`
	// Type is the record's type; empty means the only record of that
	// name.
	Type   string `json:"type,omitempty"`
	Pool   string `json:"pool,omitempty"`
	Reason string `json:"reason,omitempty"`
	For    string `json:"for,omitempty"`
	// Guard: dry_run and force (pin only).
	Guard
}

// OverridesResponse is GET /v1/overrides.
type OverridesResponse struct {
	Overrides []*Override `json:"overrides"`
	// Index is the log index of the latest change in the state shown.
	Index     uint64    `json:"index"`
	Freshness Freshness `json:"freshness"`
}

// OverrideResult is the reply to a drain, undrain, pin or release: the
// change as applied and the records' answers right after it, read on
// the node that answers once it has applied the change.
type OverrideResult struct {
	Message string         `json:"message"`
	Records []RecordStatus `json:"records"`
	// Override is the override as the cluster stored it (drain, pin: its
	// created and expires times in the cluster's clock) or removed
	// (undrain, release).
	Override *Override `json:"override,omitempty"`
	// Index is the log index of the latest change in the state the
	// records show; WriteIndex is the change's own. Index below
	// WriteIndex means this node had not applied the change in time,
	// and the message says so.
	Index      uint64 `json:"index"`
	WriteIndex uint64 `json:"write_index"`
}

// Override is an operator's decision that wins over health: drain a
// datacenter, pool or endpoint (pool/address), or pin a record to a pool.
type Override struct {
	Kind string `json:"kind"`
	// Target is what a drain applies to: a datacenter, a pool, or
	// pool/address.
	Target string `json:"target,omitempty"`
	// Record and Pool are what a pin applies to.
	Record  string    `json:"record,omitempty"`
	Type    string    `json:"type,omitempty"`
	Pool    string    `json:"pool,omitempty"`
	Reason  string    `json:"reason"`
	Author  string    `json:"author,omitempty"`
	Created time.Time `json:"created"`
	// For is how long the override holds (a Go duration, "30m"), in the
	// cluster's clock. Empty holds until cleared.
	For string `json:"for,omitempty"`
	// Expires is zero for an override that holds until cleared.
	Expires time.Time `json:"expires,omitzero"`
}
