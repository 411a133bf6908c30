package wire

// Guard is what a write that moves answers takes beside its own fields.
type Guard struct {
	// DryRun makes the request change nothing and answer an Impact:
	// every record's answer before and after.
	DryRun bool `json:"dry_run,omitempty"`
	// Force makes the change although it sends a record to its fallback
	// or leaves it no healthy pool.
	Force bool `json:"force,omitempty"`
}

// Impact is the reply to a write sent with dry_run: what it would do.
type Impact struct {
	DryRun bool `json:"dry_run"`
	// Message says what the write would do.
	Message string `json:"message"`
	// Records are every health-driven record's answer now and after.
	Records []RecordImpact `json:"records"`
	// Harmful names each record the change would send to its fallback
	// or leave without a healthy pool; the write is refused unless
	// forced while it names any.
	Harmful []string `json:"harmful"`
	// Refused is true when the write would be refused (Harmful, and no
	// force).
	Refused bool `json:"refused"`
}

// RecordImpact is one record's answer before and after a change.
type RecordImpact struct {
	Name   string       `json:"name"`
	Type   string       `json:"type"`
	Before RecordAnswer `json:"before"`
	After  RecordAnswer `json:"after"`
	// Changed is true when the answer moves.
	Changed bool `json:"changed"`
	// Harm says why the change hurts this record; empty when it does not.
	Harm string `json:"harm,omitempty"`
}

// RecordAnswer is what a record answers and from where.
type RecordAnswer struct {
	Answers  []string `json:"answers"`
	Pool     string   `json:"pool"`
	Fallback bool     `json:"fallback"`
	// Healthy is false on the fallback, and for a record pinned to a
	// pool with too few endpoints up.
	Healthy bool   `json:"healthy"`
	Reason  string `json:"reason"`
}

// RefusalError is the body of a write the guard refused (409): the
// message names the records, Impact has them before and after.
type RefusalError struct {
	Error
	Impact Impact `json:"impact"`
}
