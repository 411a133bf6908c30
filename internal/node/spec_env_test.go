package node

import (
	"log/slog"
	"testing"
)

// The getenv handed to everything that reads a variable the spec names
// (providers, notifications, zone TSIG keys, check headers) reads only
// the allowed ones.
func TestSpecEnvAllowList(t *testing.T) {
	t.Setenv("DETOUR_TEST_ALLOWED", "yes")
	t.Setenv("TEST_OUTSIDE", "no")
	t.Setenv("DETOUR_API_TOKENS", "admin:admin:secret")
	t.Setenv("OPS_SECRET", "ops")
	log := slog.New(slog.DiscardHandler)
	cases := []struct {
		prefixes []string
		name     string
		want     string
	}{
		{nil, "DETOUR_TEST_ALLOWED", "yes"},
		{nil, "TEST_OUTSIDE", ""},
		{nil, "DETOUR_API_TOKENS", ""},
		{[]string{""}, "DETOUR_API_TOKENS", ""},
		{[]string{"OPS_"}, "OPS_SECRET", "ops"},
		{[]string{"OPS_"}, "DETOUR_TEST_ALLOWED", ""},
	}
	for _, c := range cases {
		if got := specEnv(c.prefixes, log)(c.name); got != c.want {
			t.Errorf("prefixes %q: %s reads %q, want %q", c.prefixes, c.name, got, c.want)
		}
	}
}
