package node

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/spec"
)

// The getenv handed to everything that reads a variable the spec names
// (providers, notifications, zone TSIG keys, check headers) reads only
// the ones allowed for that use: a variable serves one use at most.
func TestSpecEnvAllowList(t *testing.T) {
	t.Setenv("DETOUR_TEST_ALLOWED", "yes")
	t.Setenv("DETOUR_CHECK_AUTH", "check")
	t.Setenv("DETOUR_NOTIFY_PD_KEY", "pd")
	t.Setenv("TEST_OUTSIDE", "no")
	t.Setenv("DETOUR_API_TOKENS", "admin:admin:secret")
	t.Setenv("OPS_SECRET", "ops")
	log := slog.New(slog.DiscardHandler)
	prov, check, notify := spec.EnvProvider, spec.EnvCheck, spec.EnvNotify
	cases := []struct {
		policy spec.EnvPolicy
		use    spec.EnvUse
		name   string
		want   string
	}{
		{spec.EnvPolicy{}, prov, "DETOUR_TEST_ALLOWED", "yes"},
		{spec.EnvPolicy{}, prov, "TEST_OUTSIDE", ""},
		{spec.EnvPolicy{}, prov, "DETOUR_API_TOKENS", ""},
		{spec.EnvPolicy{Spec: []string{""}}, prov, "DETOUR_API_TOKENS", ""},
		{spec.EnvPolicy{Spec: []string{"OPS_"}}, prov, "OPS_SECRET", "ops"},
		{spec.EnvPolicy{Spec: []string{"OPS_"}}, prov, "DETOUR_TEST_ALLOWED", ""},
		// One use each: the provider's token is refused to checks and
		// notifications, theirs to providers and to each other.
		{spec.EnvPolicy{}, check, "DETOUR_TEST_ALLOWED", ""},
		{spec.EnvPolicy{}, notify, "DETOUR_TEST_ALLOWED", ""},
		{spec.EnvPolicy{}, prov, "DETOUR_CHECK_AUTH", ""},
		{spec.EnvPolicy{}, prov, "DETOUR_NOTIFY_PD_KEY", ""},
		{spec.EnvPolicy{Spec: []string{""}}, prov, "DETOUR_CHECK_AUTH", ""},
		{spec.EnvPolicy{}, check, "DETOUR_CHECK_AUTH", "check"},
		{spec.EnvPolicy{}, notify, "DETOUR_CHECK_AUTH", ""},
		{spec.EnvPolicy{}, notify, "DETOUR_NOTIFY_PD_KEY", "pd"},
		{spec.EnvPolicy{}, check, "DETOUR_NOTIFY_PD_KEY", ""},
		{spec.EnvPolicy{Check: []string{"OPS_"}}, check, "OPS_SECRET", "ops"},
		{spec.EnvPolicy{Check: []string{"OPS_"}}, prov, "OPS_SECRET", ""},
	}
	for _, c := range cases {
		if got := specEnv(c.policy, c.use, log)(c.name); got != c.want {
			t.Errorf("policy %+v, %s: %s reads %q, want %q", c.policy, c.use, c.name, got, c.want)
		}
	}
}

// A node refuses check and notification prefixes that overlap: one
// variable would serve both uses.
func TestEnvPrefixesMustNotOverlap(t *testing.T) {
	for _, c := range []struct {
		check, notify []string
		ok            bool
	}{
		{nil, nil, true},
		{[]string{"OPS_CHECK_"}, []string{"OPS_NOTIFY_"}, true},
		{[]string{"DETOUR_"}, nil, false},
		{nil, []string{"DETOUR_CHECK_X"}, false},
		{[]string{""}, nil, false},
	} {
		cfg := Config{Dev: true, CheckEnvPrefixes: c.check, NotifyEnvPrefixes: c.notify}
		err := cfg.Validate()
		if c.ok && err != nil && strings.Contains(err.Error(), "overlap") {
			t.Errorf("check %q notify %q: %v", c.check, c.notify, err)
		}
		if !c.ok && (err == nil || !strings.Contains(err.Error(), "overlap")) {
			t.Errorf("check %q notify %q: got %v, want a refusal saying they overlap", c.check, c.notify, err)
		}
	}
}
