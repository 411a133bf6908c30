package wire

import "time"

// Status is GET /v1/status: what `detour status` shows.
type Status struct {
	// Leader is the leader's node ID, empty when none is known.
	Leader      string       `json:"leader"`
	Freshness   Freshness    `json:"freshness"`
	SpecVersion uint64       `json:"spec_version"`
	Members     []MemberInfo `json:"members"`
	// Quorum is how many voters are up and how many more may fail, as
	// the leader sees them.
	Quorum Quorum `json:"quorum"`
	// Minority says whether this node is cut off from the leader.
	Minority    MinorityStatus     `json:"minority"`
	Observers   []ObserverStatus   `json:"observers"`
	Datacenters []DatacenterStatus `json:"datacenters"`
	Records     []RecordStatus     `json:"records"`
	Overrides   []*Override        `json:"overrides"`
	// Notifications is each channel's delivery cursor and last error.
	Notifications []NotifyCursor `json:"notifications,omitempty"`
	// Providers is each DNS provider's sync as the leader last committed
	// it.
	Providers []ProviderSync `json:"providers,omitempty"`
	// StateTime is the time of the latest change applied: the state's
	// clock.
	StateTime time.Time `json:"state_time"`
	// Index is the log index of the latest change applied in the state
	// shown: a write whose index is at or below it is in it.
	Index uint64 `json:"index"`
}

// ObserverStatus is one node's standing as an observer of health.
type ObserverStatus struct {
	ID         string    `json:"id"`
	Datacenter string    `json:"datacenter"`
	Fresh      bool      `json:"fresh"`
	LastReport time.Time `json:"last_report"`
}

// DatacenterStatus is a datacenter's health: up while any of its pools
// is healthy.
type DatacenterStatus struct {
	Name    string       `json:"name"`
	Up      bool         `json:"up"`
	Drained string       `json:"drained,omitempty"`
	Pools   []PoolStatus `json:"pools"`
}

// PoolStatus is a pool's health: healthy with at least MinHealthy
// endpoints up.
type PoolStatus struct {
	Name       string           `json:"name"`
	Datacenter string           `json:"datacenter"`
	Check      string           `json:"check"`
	Healthy    bool             `json:"healthy"`
	Up         int              `json:"up"`
	MinHealthy int              `json:"min_healthy"`
	Endpoints  []EndpointStatus `json:"endpoints"`
}

// EndpointStatus is the cluster's verdict on an endpoint (drains
// applied) and each observer's own view of it.
type EndpointStatus struct {
	Address string `json:"address"`
	// Known is false until an observer reported; unknown counts as up.
	Known     bool           `json:"known"`
	Up        bool           `json:"up"`
	Reason    string         `json:"reason,omitempty"`
	Observers []ObserverView `json:"observers"`
}

// ObserverView is one observer's local verdict on an endpoint.
type ObserverView struct {
	Observer string `json:"observer"`
	// Fresh is false when the observer stopped reporting: its view no
	// longer counts.
	Fresh     bool      `json:"fresh"`
	Known     bool      `json:"known"`
	Up        bool      `json:"up"`
	Reason    string    `json:"reason,omitempty"`
	LatencyMS float64   `json:"latency_ms,omitempty"`
	Since     time.Time `json:"since,omitzero"`
}

// RecordStatus is a record's current answer and why.
type RecordStatus struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Answers  []string `json:"answers"`
	Pool     string   `json:"pool"`
	Reason   string   `json:"reason"`
	Fallback bool     `json:"fallback"`
	// PinnedTo is the pool an operator pinned the record to.
	PinnedTo string `json:"pinned_to,omitempty"`
	// GeoPolicy (geo, nearest) and Geo: a record answered by where the
	// client is; Answers above are then for clients not placed.
	GeoPolicy string      `json:"geo_policy,omitempty"`
	Geo       []GeoAnswer `json:"geo,omitempty"`
}

// RecordsResponse is GET /v1/records: every record's decision.
type RecordsResponse struct {
	Freshness Freshness `json:"freshness"`
	// Index is the log index of the latest change in the state shown.
	Index   uint64     `json:"index"`
	Records []Decision `json:"records"`
}

// Decision is the answer chosen for one record and why.
type Decision struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Pool is the pool answering (for weighted and all-healthy, the
	// pools, comma separated); empty for a fallback or no answer.
	Pool string `json:"pool"`
	// Answers are the addresses or target served; a weighted record
	// serves one pool's endpoints per query.
	Answers []string `json:"answers"`
	Reason  string   `json:"reason"`
	// Fallback is true when no pool was healthy.
	Fallback bool `json:"fallback,omitempty"`
	// GeoPolicy and Geo: as in RecordStatus.
	GeoPolicy string      `json:"geo_policy,omitempty"`
	Geo       []GeoAnswer `json:"geo,omitempty"`
}

// NotifyCursor is what the leader delivered on one notification
// channel: every event up to Seq.
type NotifyCursor struct {
	Channel string    `json:"channel"`
	Seq     uint64    `json:"seq"`
	Error   string    `json:"error,omitempty"` // last delivery error, "" once delivered
	At      time.Time `json:"at,omitzero"`
	// Dropped counts the events given up on; LastDropped is the last
	// one's time and words.
	Dropped     uint64 `json:"dropped,omitempty"`
	LastDropped string `json:"last_dropped,omitempty"`
}

// ProviderSync is what the leader last knew of one provider's sync.
type ProviderSync struct {
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	Zone        string    `json:"zone"`
	InSync      bool      `json:"in_sync"`
	Pending     int       `json:"pending"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// By is the leader that pushed.
	By string `json:"by"`
}

// MinorityStatus says whether a node is cut off from the cluster's
// leader and what it answers meanwhile.
type MinorityStatus struct {
	CutOff bool   `json:"cut_off"`
	Mode   string `json:"mode"`
	// Since is when the node was cut off.
	Since time.Time `json:"since,omitzero"`
	// After is how long without contact cuts a node off.
	After   string `json:"after"`
	Message string `json:"message,omitempty"`
	// Answers are what this node's DNS server answers while cut off in
	// minority_mode local: the records evaluated over its own health
	// checks. The rest of the status is the cluster's last replicated
	// view, which these may contradict.
	Answers []Decision `json:"answers,omitempty"`
}
