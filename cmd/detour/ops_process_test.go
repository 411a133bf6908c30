package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
)

// buildStamped builds the binary as a packager would, with a version
// and build time set by the linker.
func buildStamped(t *testing.T, version, built string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "detour")
	pkg := "github.com/seed3787e6f1/detour/internal/buildinfo"
	ldflags := fmt.Sprintf("-X %s.version=%s -X %s.buildTime=%s", pkg, version, pkg, built)
	if out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// The real binary, built with a stamped version: `detour version` prints
// it with the build facts, and a running agent exports the same as
// detour_build_info; with --log-format json every line it writes on
// stderr is one JSON object, Raft's lines among them with their own
// level and fields, none nested in a message.
func TestAgentVersionAndJSONLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs an agent")
	}
	bin := buildStamped(t, "9.8.7-test", "2026-12-01T12:00:00Z")
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("detour version: %v", err)
	}
	for _, want := range []string{"detour 9.8.7-test\n", "built:     2026-12-01T12:00:00Z\n", "go:        go1."} {
		if !strings.Contains(string(out), want) {
			t.Errorf("detour version printed\n%s\nwant a line with %q", out, want)
		}
	}

	api := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	a := &agentProc{args: []string{"agent", "--dev", "--spec", "../../examples/dev/spec.yaml", "--log-format", "json",
		"--dns-addr", fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)), "--api-addr", api}}
	a.start(t, bin)
	t.Cleanup(func() {
		if a.cmd.ProcessState == nil {
			_ = a.cmd.Process.Kill()
			_ = a.cmd.Wait()
		}
	})
	testutil.Eventually(t, "the agent ready", 20*time.Second, func() bool { return strings.Contains(a.logs(), `"msg":"ready`) })
	metrics := scrape(t, "http://"+api+"/metrics")
	if !regexp.MustCompile(`(?m)^detour_build_info\{goversion="go1\.[^"]+",revision="[^"]*",version="9\.8\.7-test"\} 1$`).MatchString(metrics) {
		t.Errorf("no detour_build_info for 9.8.7-test in /metrics:\n%s", grepLines(metrics, "build_info"))
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	_ = a.cmd.Wait()
	checkJSONLog(t, a.logs())
}

// checkJSONLog asserts every line is one JSON object with time, level
// and msg, and that Raft's lines are there with their level.
func checkJSONLog(t *testing.T, log string) {
	t.Helper()
	raftLevels := map[string]int{}
	for i, line := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("line %d is not one JSON object (%v): %s", i+1, err, line)
			continue
		}
		if k := duplicateKey(line); k != "" {
			t.Errorf("line %d has the key %q twice: %s", i+1, k, line)
		}
		level, _ := rec["level"].(string)
		msg, _ := rec["msg"].(string)
		if rec["time"] == nil || level == "" || msg == "" {
			t.Errorf("line %d lacks time, level or msg: %s", i+1, line)
		}
		if rec["component"] == "raft" {
			raftLevels[level]++
			// The old writer nested hclog's whole line: its timestamp
			// and "[INFO]" inside the message.
			if strings.Contains(msg, "[INFO]") || strings.Contains(msg, "[WARN]") || regexp.MustCompile(`^\d{4}-\d\d-\d\dT`).MatchString(msg) {
				t.Errorf("line %d nests a Raft line in its message: %s", i+1, line)
			}
		}
	}
	// A cluster of one: its first heartbeat timeout is a WARN, winning
	// its election INFO lines.
	if raftLevels["INFO"] == 0 || raftLevels["WARN"] == 0 {
		t.Errorf("Raft's lines by level: %v, want INFO and WARN ones\n%s", raftLevels, log)
	}
	if !strings.Contains(log, `"msg":"entering leader state"`) {
		t.Errorf("no Raft line \"entering leader state\" with its own fields:\n%s", log)
	}
}

// duplicateKey returns a top-level key the JSON object line has twice.
func duplicateKey(line string) string {
	dec := json.NewDecoder(strings.NewReader(line))
	if _, err := dec.Token(); err != nil { // {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		key, _ := tok.(string)
		if seen[key] {
			return key
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return ""
		}
	}
	return ""
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(body)
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
