package controller

import (
	"errors"

	"github.com/seed3787e6f1/detour/controller/nodeport"
	"github.com/seed3787e6f1/detour/spec"
)

// wireError is a sentinel error and the code that names it on the
// forwarding wire, so that a follower's caller can tell refusals apart
// with errors.Is as on the leader.
type wireError struct {
	code string
	err  error
}

// errorTable lists every sentinel a forwarded request can be refused
// with. Order matters: an error that wraps several sentinels is sent as
// the first that matches.
var errorTable = []wireError{
	{"unknown_target", ErrUnknownTarget},
	{"unknown_record", ErrUnknownRecord},
	{"unknown_incident", ErrUnknownIncident},
	{"incident_resolved", ErrIncidentResolved},
	{"incident_limit", ErrIncidentLimit},
	{"not_found", ErrNotFound},
	{"no_spec", ErrNoSpec},
	{"spec_changed", ErrSpecChanged},
	{"bad_command", ErrBadCommand},
	{"invalid_spec", spec.ErrInvalid},
	{"halted", ErrHalted},
	{"skipped", ErrSkipped},
	{"storage", ErrStorage},
	{"not_leader", ErrNotLeader},
	{"too_large", nodeport.ErrMessageTooLarge},
	{"unreachable", ErrUnreachable},
	{"needs_force", ErrNeedsForce},
}

// codeOf names the first sentinel err wraps, "" for none.
func codeOf(err error) string {
	for _, c := range errorTable {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return ""
}

// sentinel is the error code names, nil for none or an unknown code (a
// leader of a newer version).
func sentinel(code string) error {
	for _, c := range errorTable {
		if c.code == code {
			return c.err
		}
	}
	return nil
}
