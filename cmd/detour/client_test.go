package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/node"
)

// cliNode starts a dev node whose three sites are this test's listeners,
// points the client commands at it, and waits until every endpoint is
// known up. It returns the spec files (current and fixed) it wrote.
func cliNode(t *testing.T) (specFile, fixedFile string) {
	t.Helper()
	dir := t.TempDir()
	repl := []string{}
	for _, name := range []string{"SITE_US_EAST", "SITE_US_WEST", "SITE_EU_WEST"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		repl = append(repl, name, ln.Addr().String())
	}
	write := func(src string) string {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, filepath.Base(src))
		if err := os.WriteFile(out, []byte(strings.NewReplacer(repl...).Replace(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
		return out
	}
	specFile, fixedFile = write("testdata/cli/spec.yaml"), write("testdata/cli/spec-fixed.yaml")
	n, err := node.Start(node.Config{Dev: true, DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", Spec: specFile}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	t.Setenv("DETOUR_API", "http://"+n.APIAddr())
	t.Setenv("DETOUR_TOKEN", "")
	deadline := time.Now().Add(15 * time.Second)
	for {
		var stdout, stderr bytes.Buffer
		if run([]string{"status", "--json"}, &stdout, &stderr) == 0 {
			var st api.Status
			if err := json.Unmarshal(stdout.Bytes(), &st); err == nil && allUp(st) {
				return specFile, fixedFile
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node's endpoints are not all up within 15s: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func allUp(st api.Status) bool {
	n := 0
	for _, dc := range st.Datacenters {
		for _, p := range dc.Pools {
			for _, ep := range p.Endpoints {
				if !ep.Known || !ep.Up {
					return false
				}
				n++
			}
		}
	}
	return n == 4
}

var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:PORT"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`), "TIME"},
	{regexp.MustCompile(`applied index \d+`), "applied index N"},
	{regexp.MustCompile(`/tmp/[^ :\n]+/`), "TMP/"},
	{regexp.MustCompile(`spec v\d+|spec version \d+|version \d+`), "version N"},
}

// normalise replaces what changes between runs: ports, times, indexes,
// temp dirs.
func normalise(s string) string {
	for _, v := range volatile {
		s = v.re.ReplaceAllString(s, v.with)
	}
	return s
}

func TestClientGolden(t *testing.T) {
	specFile, fixedFile := cliNode(t)
	invalid := filepath.Join(t.TempDir(), "invalid.yaml")
	if err := os.WriteFile(invalid, []byte("zones: []\nbogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = specFile
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"status", []string{"status"}, 0},
		{"drill-lose-us-east", []string{"drill", "--lose", "us-east"}, 1},
		{"drill-lose-eu-west", []string{"drill", "--lose", "eu-west"}, 0},
		{"drill-fixed-spec", []string{"drill", "--lose", "us-east", "--spec", fixedFile}, 0},
		{"drill-unknown-dc", []string{"drill", "--lose", "mars"}, 1},
		{"drill-no-lose", []string{"drill"}, 2},
		{"drain-dry-run", []string{"drain", "us-east", "--reason", "maintenance", "--dry-run"}, 1},
		{"drain-refused", []string{"drain", "us-east", "--reason", "maintenance", "--for", "1h"}, 1},
		{"drain", []string{"drain", "us-east", "--reason", "maintenance", "--for", "1h", "--force"}, 0},
		{"drain-again-status", []string{"status"}, 0},
		{"undrain", []string{"undrain", "us-east"}, 0},
		{"undrain-not-drained", []string{"undrain", "us-east"}, 1},
		{"drain-no-reason", []string{"drain", "us-east"}, 2},
		{"drain-unknown", []string{"drain", "us-north", "--reason", "x"}, 1},
		{"drain-endpoint", []string{"drain", "web-us-west/198.51.100.10", "--reason", "bad disk"}, 0},
		{"undrain-endpoint", []string{"undrain", "web-us-west/198.51.100.10"}, 0},
		{"failover-to-dry-run", []string{"failover", "www.example.test", "--to", "web-eu-west", "--reason", "testing eu", "--dry-run"}, 0},
		{"failover-to", []string{"failover", "www.example.test", "--to", "web-eu-west", "--reason", "testing eu"}, 0},
		{"failover-release", []string{"failover", "www.example.test", "--release"}, 0},
		{"failover-neither", []string{"failover", "www.example.test"}, 2},
		{"failover-both", []string{"failover", "www.example.test", "--to", "web-eu-west", "--release"}, 2},
		{"failover-foreign-pool", []string{"failover", "www.example.test", "--to", "api-us-east", "--reason", "x"}, 1},
		{"spec-diff", []string{"spec", "diff", fixedFile}, 0},
		{"spec-apply-invalid", []string{"spec", "apply", invalid}, 1},
		{"spec-apply-dry-run", []string{"spec", "apply", fixedFile, "--dry-run"}, 0},
		{"spec-apply", []string{"spec", "apply", fixedFile}, 0},
		{"spec-apply-again", []string{"spec", "apply", fixedFile}, 0},
		{"spec-no-sub", []string{"spec"}, 2},
		{"drill-after-apply", []string{"drill", "--lose", "us-east"}, 0},
		{"members-unknown-sub", []string{"members", "promote"}, 2},
		{"members-add-bad", []string{"members", "add", "nohost"}, 2},
		{"members-remove-unknown", []string{"members", "remove", "nobody"}, 1},
		{"bad-api-url", []string{"status", "--api", "127.0.0.1:8053"}, 2},
		{"unreachable", []string{"status", "--api", "http://127.0.0.1:1"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := runCLI(c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s", code, c.code, out)
			}
			golden(t, "cli/"+c.name, normalise(strings.ReplaceAll(out, filepath.Dir(fixedFile), "DIR")))
		})
	}
}

// The --json output of every client command parses back, with the
// fields contract.md promises.
func TestClientJSON(t *testing.T) {
	_, fixedFile := cliNode(t)
	runJSON := func(v any, args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := run(append(args, "--json"), &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
		if err := json.Unmarshal(stdout.Bytes(), v); err != nil {
			t.Fatalf("%v: --json does not parse: %v\n%s", args, err, stdout.String())
		}
	}
	var members []map[string]any
	runJSON(&members, "members")
	if len(members) != 1 {
		t.Fatalf("members: %v", members)
	}
	for _, k := range []string{"id", "datacenter", "address", "voter", "leader"} {
		if _, ok := members[0][k]; !ok {
			t.Errorf("members --json lacks %q: %v", k, members[0])
		}
	}
	if members[0]["voter"] != true || members[0]["leader"] != true {
		t.Errorf("voter and leader are booleans, true here: %v", members[0])
	}
	var status map[string]any
	runJSON(&status, "status")
	for _, k := range []string{"leader", "members", "records", "datacenters"} {
		if _, ok := status[k]; !ok {
			t.Errorf("status --json lacks %q", k)
		}
	}
	var st api.Status
	runJSON(&st, "status")
	if st.Leader != "dev" || len(st.Records) != 2 {
		t.Fatalf("status: leader %q, %d records", st.Leader, len(st.Records))
	}
	rec := st.Records[0]
	if rec.Name != "www.example.test." || rec.Type != "A" || rec.Pool != "web-us-east" || rec.Reason == "" || strings.Join(rec.Answers, ",") != "192.0.2.10" {
		t.Errorf("record: %+v", rec)
	}
	ep := st.Datacenters[0].Pools[0].Endpoints[0]
	if len(ep.Observers) != 1 || ep.Observers[0].Observer != "dev" || !ep.Observers[0].Known {
		t.Errorf("each observer's view: %+v", ep)
	}
	var drill api.DrillResult
	var stdout, stderr bytes.Buffer
	if code := run([]string{"drill", "--lose", "us-east", "--json"}, &stdout, &stderr); code != 1 {
		t.Fatalf("drill: exit %d", code)
	}
	if err := json.Unmarshal(stdout.Bytes(), &drill); err != nil || drill.Survivable || len(drill.Problems) != 1 || !strings.Contains(drill.Problems[0], "api.example.test") {
		t.Errorf("drill --json: %v %+v", err, drill)
	}
	var res api.OverrideResult
	runJSON(&res, "drain", "eu-west", "--reason", "json")
	if !strings.Contains(res.Message, "drained eu-west") {
		t.Errorf("drain --json: %+v", res)
	}
	runJSON(&res, "undrain", "eu-west")
	var ev api.EventsResponse
	runJSON(&ev, "events")
	if len(ev.Events) == 0 || ev.Last == 0 {
		t.Errorf("events --json: %+v", ev)
	}
	var sp api.SpecResponse
	runJSON(&sp, "spec", "get")
	if sp.Version != 1 || !strings.Contains(sp.YAML, "www.example.test") {
		t.Errorf("spec get --json: %+v", sp)
	}
	var diff api.SpecDiff
	runJSON(&diff, "spec", "diff", fixedFile)
	if strings.Join(diff.Changes, ";") != "+ pool api-us-west;~ record api.example.test. A" {
		t.Errorf("spec diff --json: %q", diff.Changes)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// events --follow prints an override made after it started, and exits 0
// when interrupted.
func TestEventsFollow(t *testing.T) {
	cliNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- runContext(ctx, []string{"events", "--follow", "--limit", "1"}, &stdout, &stderr) }()
	time.Sleep(200 * time.Millisecond)
	if code, out := runCLI("drain", "web-eu-west", "--reason", "followed"); code != 0 {
		t.Fatalf("drain: %s", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stdout.String(), "drain pool web-eu-west by local: followed") {
		if time.Now().After(deadline) {
			t.Fatalf("events --follow did not print the drain:\n%s\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("events --follow exited %d after the interrupt: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("events --follow did not stop when interrupted")
	}
}
