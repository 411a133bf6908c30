package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The agent reads which variables serve checks and notifications from
// its flags and its node file, and refuses prefixes under which one
// variable would serve both: the setting is not silently dropped.
func TestAgentEnvPrefixesBoundToOneUse(t *testing.T) {
	code, out := runCLI("agent", "--dev", "--dns-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0",
		"--check-env-prefix", "DETOUR_", "--notify-env-prefix", "DETOUR_NOTIFY_")
	if code == 0 || !strings.Contains(out, `check_env_prefixes "DETOUR_" and notify_env_prefixes "DETOUR_NOTIFY_" overlap`) {
		t.Fatalf("flags: exit %d, want a refusal naming the overlap:\n%s", code, out)
	}
	file := filepath.Join(t.TempDir(), "node.yaml")
	if err := os.WriteFile(file, []byte("dns_addr: 127.0.0.1:0\napi_addr: 127.0.0.1:0\ncheck_env_prefixes: [OPS_]\nnotify_env_prefixes: [OPS_PAGER_]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out = runCLI("agent", "--dev", "--config", file)
	if code == 0 || !strings.Contains(out, `check_env_prefixes "OPS_" and notify_env_prefixes "OPS_PAGER_" overlap`) {
		t.Fatalf("node file: exit %d, want a refusal naming the overlap:\n%s", code, out)
	}
}
