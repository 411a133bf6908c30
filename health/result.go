package health

import (
	"time"
)

// Verdict is a target's local health: what this node concluded after the
// rise/fall thresholds.
type Verdict int

// Verdicts. The zero value is Unknown: no probe has finished yet.
const (
	Unknown Verdict = iota
	Up
	Down
)

func (v Verdict) String() string {
	switch v {
	case Up:
		return "up"
	case Down:
		return "down"
	default:
		return "unknown"
	}
}

// MarshalText writes "up", "down" or "unknown".
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// Classes group failure reasons for metrics and alerting; a Reason is for
// humans, a Class for dashboards.
const (
	ClassOK        = "ok"
	ClassTimeout   = "timeout"
	ClassRefused   = "refused"
	ClassConnect   = "connect"   // other errors while connecting (unreachable, reset, DNS lookup)
	ClassTLS       = "tls"       // handshake or certificate verification failed
	ClassExpiry    = "expiry"    // certificate expires within min_days
	ClassStatus    = "status"    // unexpected HTTP status or DNS rcode
	ClassContent   = "content"   // body, reply or answer lacks what was expected
	ClassHeartbeat = "heartbeat" // no beat within max_age
	ClassConfig    = "config"    // the check cannot be set up
	ClassBlocked   = "blocked"   // the target address is not allowed by the node
	ClassError     = "error"     // anything else
)

// Result is the outcome of one probe.
type Result struct {
	Up bool
	// Reason says what was seen, in words an operator can act on:
	// "HTTP 503 Service Unavailable", "connect: connection refused",
	// "timeout after 500ms". It is set for successes too ("HTTP 200 OK").
	Reason string
	// Class groups the reason for metrics (ClassOK, ClassTimeout, ...).
	Class string
	// Latency is how long the probe took; the engine measures it.
	Latency time.Duration
}

func ok(reason string) Result { return Result{Up: true, Reason: reason, Class: ClassOK} }

func fail(class, reason string) Result { return Result{Reason: reason, Class: class} }

// TargetID names a target: an endpoint address within a pool. The same
// address in two pools is two targets, because the pools may check it
// differently.
type TargetID struct {
	Pool    string `json:"pool"`
	Address string `json:"address"`
}

func (t TargetID) String() string { return t.Pool + "/" + t.Address }

// Transition is a change of a target's local verdict.
type Transition struct {
	Target TargetID
	Check  string // the spec check's name
	From   Verdict
	To     Verdict
	// Reason and Latency are those of the probe that decided the change.
	Reason  string
	Latency time.Duration
	At      time.Time
}

// Sink receives verdict changes; the controller implements it and turns
// them into ObserverVerdict commands.
//
// Transition is called from the probing workers, one call at a time per
// target and in order for that target, but concurrently across targets. It
// must be safe for concurrent use and return quickly: a slow Sink holds a
// worker, and once every worker is held, every target's probes wait.
type Sink interface {
	Transition(Transition)
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(Transition)

// Transition calls f(t).
func (f SinkFunc) Transition(t Transition) { f(t) }

// Status is the current local view of one target.
type Status struct {
	Target  TargetID `json:"target"`
	Check   string   `json:"check"`
	Type    string   `json:"type"`
	Probe   string   `json:"probe"` // what is probed: host:port, or the endpoint for heartbeats
	Verdict Verdict  `json:"verdict"`
	// Since is when the verdict last changed (zero while unknown).
	Since time.Time `json:"since"`
	// Last is the latest probe's outcome, which may disagree with the
	// verdict while rise/fall has not yet decided.
	LastUp      bool          `json:"last_up"`
	LastReason  string        `json:"last_reason"`
	LastLatency time.Duration `json:"last_latency"`
	LastAt      time.Time     `json:"last_at"`
	// Streak is how many consecutive probes agreed with LastUp.
	Streak int `json:"streak"`
}
