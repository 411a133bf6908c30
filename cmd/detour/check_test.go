package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// runCLI runs the command line in process and returns its exit code and
// output in the golden format.
func runCLI(args ...string) (int, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, fmt.Sprintf("exit: %d\n--- stdout\n%s--- stderr\n%s", code, stdout.String(), stderr.String())
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

func TestCheckGolden(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"check-valid", []string{"check", "testdata/check/valid.yaml"}, 0},
		{"check-invalid", []string{"check", "testdata/check/invalid.yaml"}, 1},
		{"check-unknown-key", []string{"check", "testdata/check/unknown-key.yaml"}, 1},
		{"check-lints", []string{"check", "testdata/check/lints.yaml"}, 0},
		{"check-lints-strict", []string{"check", "--strict", "testdata/check/lints.yaml"}, 1},
		{"check-missing-file", []string{"check", "testdata/check/nothere.yaml"}, 1},
		{"check-no-args", []string{"check"}, 2},
		{"check-bad-flag", []string{"check", "--nope", "x"}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := runCLI(c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s", code, c.code, out)
			}
			golden(t, c.name, out)
		})
	}
}

func TestCheckJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"check", "--json", "testdata/check/lints.yaml"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var rep checkReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, stdout.String())
	}
	if !rep.Valid || len(rep.Errors) != 0 || len(rep.Warnings) != 4 {
		t.Errorf("report: %+v", rep)
	}
	code = run([]string{"check", "--json", "testdata/check/invalid.yaml"}, &stdout, &stderr)
	if code != 1 {
		t.Errorf("invalid spec: exit %d", code)
	}
}

func TestAgentRefusesBadSettings(t *testing.T) {
	code, out := runCLI("agent", "--node-id", "n1", "--raft-addr", "10.0.0.1:7001", "--peers", "n1@10.0.0.1:7001",
		"--dns-addr", "127.0.0.1:0", "--api-addr", "10.0.0.1:8053", "--data-dir", t.TempDir(), "--spec", "testdata/check/valid.yaml")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"--datacenter is required", `--raft-addr "10.0.0.1:7001" is not on loopback: plaintext needs --insecure`, "--api-addr"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out = runCLI("agent", "--peers", "oops")
	if code != 2 {
		t.Errorf("bad --peers: exit %d, want 2\n%s", code, out)
	}
}
