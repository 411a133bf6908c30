// Package health probes endpoints the way users reach them and turns the
// results into a local verdict per target.
//
// A target is one endpoint of one pool (TargetID). Each target has a
// Checker built from the pool's spec.Check through an explicit table of
// check types (kinds in checker.go): http, https, tcp, dns, tls and
// heartbeat. The Engine keeps every target in one schedule (schedule.go):
// a jittered first probe within the interval, then one probe per
// interval, never two at once for the same target, run by a pool of
// workers no larger than the global concurrency limit. Results go through
// rise/fall thresholds; when a target's verdict changes the Engine tells
// its Sink.
//
// A heartbeat check is a push check: a job's beat reaches Engine.Heartbeat
// (through the API and the cluster's log) and the target is down when no
// beat arrived within max_age.
package health

import (
	"errors"

	"github.com/seed3787e6f1/detour/internal/netguard"
	"github.com/seed3787e6f1/detour/spec"
)

// Errors returned by the package. Check them with errors.Is.
var (
	// ErrUnknownCheck means a heartbeat named a check the spec does not
	// define (spec.ErrUnknownCheck: spec.HeartbeatTarget validates).
	ErrUnknownCheck = spec.ErrUnknownCheck
	// ErrUnknownEndpoint means a heartbeat named an endpoint that no pool
	// using the check has.
	ErrUnknownEndpoint = spec.ErrUnknownEndpoint
	// ErrNotHeartbeat means a heartbeat was sent for a check that is not
	// of type heartbeat.
	ErrNotHeartbeat = spec.ErrNotHeartbeat
	// ErrCheckType means a spec check has a type the engine cannot run.
	ErrCheckType = errors.New("unsupported check type")
	// ErrCheckConfig means a check could not be set up (for example its
	// ca_pem holds no certificate); its targets are reported down with
	// the reason.
	ErrCheckConfig = errors.New("check cannot be set up")
	// ErrTargetNotAllowed means a probe was refused a connection to an
	// address the node does not allow checks to reach (loopback,
	// link-local, cloud metadata, ...; see Options.AllowNetworks). It
	// is netguard's sentinel, shared with notifications.
	ErrTargetNotAllowed = netguard.ErrNotAllowed
	// ErrRunning means Run was called while the engine was already
	// running.
	ErrRunning = errors.New("engine is already running")
)
