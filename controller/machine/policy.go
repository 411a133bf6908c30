package machine

import (
	"github.com/seed3787e6f1/detour/policy"
	"github.com/seed3787e6f1/detour/spec"
)

// The policy lives in package policy; these names keep the controller's
// callers as they were.
type (
	// EndpointHealth is what is known of one endpoint.
	EndpointHealth = policy.EndpointHealth
	// Health reports endpoint health by pool and endpoint address.
	Health = policy.Health
	// AllUp is a Health for which every endpoint is unknown, so up.
	AllUp = policy.AllUp
	// Decision is the answer chosen for one record and why.
	Decision = policy.Decision
)

// Evaluate decides the answer of every health-driven record of s.
func Evaluate(s *spec.Spec, h Health) []Decision { return policy.Evaluate(s, h) }

// EvaluatePinned is Evaluate with pins: a record pinned to a pool (key
// "name/type") answers from that pool whatever the health says.
func EvaluatePinned(s *spec.Spec, h Health, pins map[string]*Override) []Decision {
	return policy.EvaluatePinned(s, h, policyPins(pins))
}

// policyPins turns pin overrides into the policy's pins.
func policyPins(pins map[string]*Override) map[string]policy.Pin {
	if len(pins) == 0 {
		return nil
	}
	out := make(map[string]policy.Pin, len(pins))
	for k, o := range pins {
		if o != nil {
			out[k] = policy.Pin{Pool: o.Pool, Author: o.Author, Reason: o.Reason}
		}
	}
	return out
}
