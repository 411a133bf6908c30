package machine

import (
	"testing"

	"github.com/seed3787e6f1/detour/internal/testutil/fixture"
	"github.com/seed3787e6f1/detour/spec"
)

// policySpec is the decision core's shared table spec (fixture.PolicySpec).
func policySpec() *spec.Spec { return fixture.PolicySpec() }

// decisionOf evaluates s under h and pins and returns the decision for
// record name.
func decisionOf(t *testing.T, s *spec.Spec, h Health, pins map[string]*Override, name string) Decision {
	t.Helper()
	for _, d := range EvaluatePinned(s, h, pins) {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no decision for %s", name)
	return Decision{}
}

// encodeSnapshot writes st as a snapshot of the current format, as the
// owner writes a captured view: equal states write equal bytes.
func encodeSnapshot(st *State) ([]byte, error) {
	return encodeV2(buildView(emptyView(), st, dirt{parts: partAll}), &specJSONCache{})
}
