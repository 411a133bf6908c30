package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An unknown log format, from the flag or the node file, is reported with
// the node's other problems, and nothing starts.
func TestAgentRejectsUnknownLogFormat(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "node.yaml")
	if err := os.WriteFile(path, []byte("log_format: xml\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"flag":      {"agent", "--log-format", "logfmt"},
		"node file": {"agent", "--config", path},
	} {
		t.Run(name, func(t *testing.T) {
			code, out := runCLI(args...)
			if code == 0 || !strings.Contains(out, "--log-format: log format: want text or json") || !strings.Contains(out, "--node-id is required") {
				t.Errorf("exit %d:\n%s", code, out)
			}
		})
	}
}
