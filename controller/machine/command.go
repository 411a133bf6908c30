package machine

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// CommandType names a state change that goes through Raft.
type CommandType string

// The commands. Each is applied deterministically: Apply reads only the
// entry, whose Time the leader stamped.
const (
	CmdSetSpec          CommandType = "set_spec"
	CmdObserverReport   CommandType = "observer_report"
	CmdObserverLiveness CommandType = "observer_liveness"
	CmdSetOverride      CommandType = "set_override"
	CmdClearOverride    CommandType = "clear_override"
	CmdExpireOverrides  CommandType = "expire_overrides"
	CmdRegisterMember   CommandType = "register_member"
	CmdRemoveMember     CommandType = "remove_member"
	CmdHeartbeat        CommandType = "heartbeat"
	CmdIncident         CommandType = "incident"
	CmdNotifyCursor     CommandType = "notify_cursor"
	CmdProviderSync     CommandType = "provider_sync"
	// CmdMembership records a membership change (membership.go).
	CmdMembership CommandType = "membership"
)

// Command is one Raft log entry.
type Command struct {
	Type CommandType `json:"type"`
	// Time is the leader's clock when it appended the command (see
	// leaderClock): the FSM's clock. Whatever a proposer puts here is
	// overwritten.
	Time time.Time `json:"time"`
	// ID, when set, makes the command apply at most once: a proposal
	// retried after the leader changed under it may reach the log twice,
	// and the second copy is then a no-op that succeeds. Store.Propose
	// sets it for the commands a person makes (see commandTable).
	ID string `json:"id,omitempty"`

	Spec     *SetSpec          `json:"spec,omitempty"`
	Report   *ObserverReport   `json:"report,omitempty"`
	Liveness *ObserverLiveness `json:"liveness,omitempty"`
	Override *Override         `json:"override,omitempty"`
	Clear    *ClearOverride    `json:"clear,omitempty"`
	Member   *Member           `json:"member,omitempty"`
	Beat     *Heartbeat        `json:"beat,omitempty"`
	Incident *IncidentCommand  `json:"incident,omitempty"`
	Cursor   *NotifyCursor     `json:"cursor,omitempty"`
	Provider *ProviderSync     `json:"provider,omitempty"`
	// Cluster identity (clusterid.go).
	Cluster *ClusterIDCommand `json:"cluster,omitempty"`
	// Membership is a membership change for the record (membership.go).
	Membership *MembershipChange `json:"membership,omitempty"`
	// Activate puts a staged spec in force (stage.go).
	Activate *ActivateSpec `json:"activate,omitempty"`
}

// Heartbeat records that a job pinged a heartbeat check, on whichever
// node it reached; every node's engine hears of it through the log, so
// no observer votes a beating job down.
type Heartbeat struct {
	Check    string `json:"check"`
	Endpoint string `json:"endpoint"`
}

// SetSpec replaces the cluster spec.
type SetSpec struct {
	// YAML is the whole spec, zone files inlined (spec.Marshal).
	YAML []byte `json:"yaml"`
	// YAMLGzip replaces YAML for a big spec: YAML gzipped (stage.go).
	YAMLGzip []byte `json:"yaml_gzip,omitempty"`
	Author   string `json:"author,omitempty"`
	// IfVersion, when set, applies the spec only over that version, 0
	// meaning "only if the cluster has no spec yet". It is checked when
	// the command applies, in log order, so two writers cannot both win.
	IfVersion *uint64 `json:"if_version,omitempty"`

	parsed *spec.Spec // YAML, parsed and validated by the proposer (ParsedSpec)
}

// ObserverReport carries changes of one observer's local verdicts. An
// empty report still proves the observer is alive.
type ObserverReport struct {
	Observer string          `json:"observer"`
	Changes  []VerdictChange `json:"changes,omitempty"`
}

// VerdictChange is an observer's new local verdict on one endpoint.
type VerdictChange struct {
	Pool    string  `json:"pool"`
	Address string  `json:"address"`
	Up      bool    `json:"up"`
	Reason  string  `json:"reason,omitempty"`
	Latency float64 `json:"latency_ms,omitempty"`
	// Forget drops the verdict (the endpoint left the spec).
	Forget bool `json:"forget,omitempty"`
}

// ObserverLiveness marks an observer stale (its reports stopped) or fresh.
type ObserverLiveness struct {
	Observer string `json:"observer"`
	Fresh    bool   `json:"fresh"`
	Reason   string `json:"reason,omitempty"`
	// LastReport, on a stale mark, is the time of the observer's last
	// report the leader judged from: a report committed since makes the
	// mark a no-op, whoever proposed it and however late it lands.
	LastReport time.Time `json:"last_report,omitzero"`
}

// Override kinds.
const (
	OverrideDrain = "drain"
	OverridePin   = "pin"
)

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
	// For is how long the override holds (a Go duration, "30m"),
	// measured in the cluster's clock: the state sets Expires to the
	// time it applies plus For. Empty holds until cleared.
	For string `json:"for,omitempty"`
	// Expires is zero for an override that holds until cleared. A
	// proposer sends For; an Expires it sends alone is kept as an
	// absolute deadline in the cluster's clock (entries of older
	// versions).
	Expires time.Time `json:"expires,omitzero"`
}

// Key identifies the override: one drain per target, one pin per record.
func (o *Override) Key() string {
	if o.Kind == OverridePin {
		return "pin:" + o.Record + "/" + o.Type
	}
	return "drain:" + o.Target
}

// ClearOverride removes a drain (Kind drain, Target) or a pin (Kind pin,
// Record, Type).
type ClearOverride struct {
	Kind   string `json:"kind"`
	Target string `json:"target,omitempty"`
	Record string `json:"record,omitempty"`
	Type   string `json:"type,omitempty"`
	Author string `json:"author,omitempty"`
}

func (c *ClearOverride) key() string {
	o := Override{Kind: c.Kind, Target: c.Target, Record: c.Record, Type: c.Type}
	return o.Key()
}

// Member describes a node of the cluster, as it registered itself.
type Member struct {
	ID         string `json:"id"`
	Datacenter string `json:"datacenter"`
	RaftAddr   string `json:"address"`
	APIAddr    string `json:"api_address,omitempty"`
	DNSAddr    string `json:"dns_address,omitempty"`
	// GeoIP is the SHA-256 of the member's geoip database, empty
	// without one: members whose hashes differ answer geo records
	// differently.
	GeoIP string `json:"geoip_sha256,omitempty"`
}

// Encode serialises a command for the Raft log.
func (c *Command) Encode() ([]byte, error) { return json.Marshal(c) }

// DecodeCommand parses a Raft log entry.
func DecodeCommand(b []byte) (*Command, error) {
	var c Command
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("controller: bad log entry: %w", err)
	}
	return &c, nil
}
