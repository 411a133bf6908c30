package main

import (
	"strings"
	"testing"
)

// An agent given a guessable token (the audit's admin token was `7`)
// refuses to start and says which token and what is needed.
func TestAgentRefusesWeakToken(t *testing.T) {
	t.Setenv("DETOUR_API_TOKENS", "grafana:read:0a426b4e7f5b4c7d5dd01f87fb676d3e,admin:admin:7")
	code, out := runCLI("agent", "--dev", "--dns-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0")
	if code == 0 {
		t.Fatalf("the agent ran with a weak token:\n%s", out)
	}
	for _, want := range []string{`DETOUR_API_TOKENS: API token too weak`, `token "admin" has about 0 bits of entropy (1 characters)`,
		"at least 128 bits are needed: 32 random hex digits or 22 random base64 characters, e.g. `openssl rand -hex 32`"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "grafana") {
		t.Errorf("a strong token is named as weak:\n%s", out)
	}
}
