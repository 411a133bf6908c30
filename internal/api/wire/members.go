package wire

// MembersResponse is GET /v1/members.
type MembersResponse struct {
	Members []MemberInfo `json:"members"`
	// Quorum is how many voters are up and how many more may fail.
	Quorum Quorum `json:"quorum"`
	// Minority says whether the node asked is cut off from the leader:
	// then the table is its last view, and the CLI warns.
	Minority  MinorityStatus `json:"minority"`
	Freshness Freshness      `json:"freshness"`
}

// AddMember is the body of POST /v1/members.
type AddMember struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	// Nonvoter adds a node that serves DNS but does not vote.
	Nonvoter bool `json:"nonvoter,omitempty"`
	// Force adds a voter that makes the number of voters even.
	Force bool `json:"force,omitempty"`
}

// MemberInfo is a member as Raft and the replicated state know it.
type MemberInfo struct {
	ID         string `json:"id"`
	Datacenter string `json:"datacenter"`
	Address    string `json:"address"`
	Voter      bool   `json:"voter"`
	Leader     bool   `json:"leader"`
	APIAddr    string `json:"api_address,omitempty"`
	DNSAddr    string `json:"dns_address,omitempty"`
	// GeoIP is the SHA-256 of the member's geoip database; members
	// whose hashes differ answer geo records differently.
	GeoIP string `json:"geoip_sha256,omitempty"`

	// Health, as the leader's probes see it: Role is leader, follower,
	// non-voter, joining or unreachable; Reachability is reachable,
	// unreachable or unknown.
	Role          string  `json:"role,omitempty"`
	Reachability  string  `json:"reachability,omitempty"`
	LastContactMS float64 `json:"last_contact_ms,omitempty"`
	AppliedIndex  uint64  `json:"applied_index,omitempty"`
	Promoting     bool    `json:"promoting,omitempty"`
	Error         string  `json:"error,omitempty"`
	// ClockSkewMS is how far the member's wall clock is ahead of the
	// leader's, as the leader's probes measure it (0: not known).
	ClockSkewMS float64 `json:"clock_skew_ms,omitempty"`
}

// Quorum is the control plane's standing: how many voters are up and
// how many more may fail.
type Quorum struct {
	// Known is false when the node asked could not learn it (no leader).
	Known    bool   `json:"known"`
	Leader   string `json:"leader"`
	Voters   int    `json:"voters"`
	VotersUp int    `json:"voters_up"`
	Needed   int    `json:"needed"`
	// CanLose is how many more voters may fail; negative: no quorum.
	CanLose int `json:"can_lose"`
	// OK is true when a leader is known and a majority of voters is up.
	OK      bool   `json:"ok"`
	Summary string `json:"summary"`
}
