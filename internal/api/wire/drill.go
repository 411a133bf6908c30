package wire

// DrillRequest is the body of POST /v1/drill.
type DrillRequest struct {
	// Lose is the datacenter to lose.
	Lose string `json:"lose"`
	// YAML, when set, is a spec to drill instead of the one in force
	// (zone files inlined); the live health and overrides still apply.
	YAML string `json:"yaml,omitempty"`
}

// DrillResult is the reply to POST /v1/drill: every record's answer if
// the datacenter were lost (its endpoints down, its observers gone).
type DrillResult struct {
	Lose string `json:"lose"`
	// SpecVersion is the version drilled; 0 for a spec given in the
	// request.
	SpecVersion uint64        `json:"spec_version"`
	Records     []DrillRecord `json:"records"`
	// Survivable is false when a record would be left on its fallback,
	// with no answer, or pinned into the lost datacenter.
	Survivable bool `json:"survivable"`
	// Problems name each record that would not survive, and why.
	Problems []string `json:"problems"`
	// ControlPlane is what the loss does to the Raft majority: without
	// one there is no leader, so no failover at all.
	ControlPlane DrillControlPlane `json:"control_plane"`
	Freshness    Freshness         `json:"freshness"`
}

// DrillControlPlane is the voters left after a drill's loss.
type DrillControlPlane struct {
	Voters int `json:"voters"`
	// Left are the voters outside the lost datacenter and not already
	// unreachable.
	Left       int      `json:"left"`
	Needed     int      `json:"needed"`
	QuorumKept bool     `json:"quorum_kept"`
	Lost       []string `json:"lost"`
	// Down are the voters elsewhere that are already unreachable.
	Down    []string `json:"down,omitempty"`
	Summary string   `json:"summary"`
}

// DrillRecord is one record's answer now and after the loss.
type DrillRecord struct {
	RecordStatus
	// Now is what the record answers today.
	Now []string `json:"now"`
	// Survives is false for a record in Problems.
	Survives bool `json:"survives"`
}
