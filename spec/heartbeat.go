package spec

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/miekg/dns"
)

// Errors of HeartbeatTarget. Check them with errors.Is; the health
// package's sentinels of the same names are these.
var (
	// ErrUnknownCheck means a heartbeat named a check the spec does not
	// define.
	ErrUnknownCheck = errors.New("unknown check")
	// ErrUnknownEndpoint means a heartbeat named an endpoint that no pool
	// using the check has.
	ErrUnknownEndpoint = errors.New("unknown endpoint")
	// ErrNotHeartbeat means a heartbeat was sent for a check that is not
	// of type heartbeat.
	ErrNotHeartbeat = errors.New("not a heartbeat check")
)

// HeartbeatTarget is the one place a heartbeat is validated (the API,
// the cluster's coalescing path, the state machine and the health
// engine all ask it): it finds the heartbeat check named check and the
// endpoint address, as s writes it, of a pool checked by it that
// endpoint names (in any spelling CanonicalEndpoint folds). s may be nil
// (no spec yet): every check is then unknown.
func (s *Spec) HeartbeatTarget(check, endpoint string) (*Check, string, error) {
	if s == nil {
		return nil, "", fmt.Errorf("%w: %q (no spec is in force yet)", ErrUnknownCheck, check)
	}
	var c *Check
	var names []string
	for i := range s.Checks {
		if s.Checks[i].Type == CheckHeartbeat {
			names = append(names, s.Checks[i].Name)
		}
		if s.Checks[i].Name == check {
			c = &s.Checks[i]
		}
	}
	switch {
	case c == nil:
		sort.Strings(names)
		if len(names) == 0 {
			names = []string{"none"}
		}
		return nil, "", fmt.Errorf("%w: %q (heartbeat checks: %s)", ErrUnknownCheck, check, strings.Join(names, ", "))
	case c.Type != CheckHeartbeat:
		return c, "", fmt.Errorf("%w: check %q is of type %s", ErrNotHeartbeat, check, c.Type)
	}
	want := CanonicalEndpoint(endpoint)
	for _, p := range s.Pools {
		if p.Check != check {
			continue
		}
		for _, ep := range p.Endpoints {
			if ep.Address == want {
				return c, ep.Address, nil
			}
		}
	}
	return c, "", fmt.Errorf("%w: no pool checked by %q has endpoint %q", ErrUnknownEndpoint, check, endpoint)
}

// CanonicalEndpoint writes an endpoint address as Validate does: IP
// addresses in canonical form, host names fully qualified in lower case.
func CanonicalEndpoint(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String()
	}
	return dns.CanonicalName(s)
}
