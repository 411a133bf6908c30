package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// TestSpecApplyBigSpec applies a spec past the API's 1 MiB plain bound
// (60,000 static records): `detour spec apply` sends it compressed and
// the node takes it; `spec diff` then finds nothing to change.
func TestSpecApplyBigSpec(t *testing.T) {
	specFile, _ := cliNode(t)
	text, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}
	var zone strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(testutil.BigZoneText(60_000)), "\n") {
		zone.WriteString("      " + l + "\n")
	}
	big := strings.Replace(string(text), "      ns1 IN A 127.0.0.1\n", "      ns1 IN A 127.0.0.1\n"+zone.String(), 1)
	if len(big) <= api.MaxBody {
		t.Fatalf("the big spec is %d bytes, not past %d", len(big), api.MaxBody)
	}
	file := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(file, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"spec", "apply", file, "--timeout", "60s"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "applied") {
		t.Fatalf("spec apply of a %d-byte spec: exit %d\n%s%s", len(big), code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"spec", "diff", file, "--timeout", "60s"}, &stdout, &stderr); code != 0 {
		t.Fatalf("spec diff after the apply: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}

func TestCompressBig(t *testing.T) {
	small := []byte(`{"yaml":"x"}`)
	if got := compressBig(small); !bytes.Equal(got, small) || isGzip(got) {
		t.Error("a small body is compressed")
	}
	big := bytes.Repeat([]byte("x"), api.MaxBody+1)
	if got := compressBig(big); !isGzip(got) || len(got) >= len(big) {
		t.Error("a big body is not compressed")
	}
}
