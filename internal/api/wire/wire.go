// Package wire declares every body the HTTP API sends and receives:
// requests, replies and errors, with their JSON names. It is the API's
// contract (docs/api.md) and imports only the standard library, so the
// replicated state's types can change without changing what clients
// read: the server converts from them field by field, and the golden
// files in testdata show any change to the JSON in review.
package wire

// Error is every error the API returns, as JSON. Message says what was
// wrong and what to do; Problems lists each problem of a refused spec.
type Error struct {
	Error    string    `json:"error"`
	Problems []Problem `json:"problems,omitempty"`
}

// Problem is one problem of a spec, with its path.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Freshness says how current a node's reads are: a follower serves its
// own state, which trails the leader by the age of its last contact.
type Freshness struct {
	Node      string `json:"node"`
	RaftState string `json:"raft_state"`
	LeaderID  string `json:"leader_id"`
	Leader    string `json:"leader_address"`
	// LastContactMS is the age of the last contact with the leader in
	// milliseconds: 0 on the leader, -1 when never.
	LastContactMS float64 `json:"last_contact_ms"`
	AppliedIndex  uint64  `json:"applied_index"`
}

// Done is the reply to a write that has nothing more to say.
type Done struct {
	Message string `json:"message"`
}

// Health is GET /v1/health: the process answers.
type Health struct {
	Status string `json:"status"`
}

// Ready is GET /v1/ready. A caller without a read token sees only the
// status and the first clause of why.
type Ready struct {
	Freshness *Freshness `json:"freshness,omitempty"`
	// Status is "ready" or "not ready".
	Status string `json:"status"`
	// Why says what the node waits for, when it is not ready.
	Why string `json:"why,omitempty"`
}
