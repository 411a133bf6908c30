package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
)

// agentLog is an agent's stderr, read while it runs.
type agentLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *agentLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *agentLog) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const driftSpec = `zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: |
      ns1 IN A 127.0.0.1
datacenters: [{name: a}]
pools: [{name: pa, datacenter: a, endpoints: [{address: %s}]}]
records:
  - {name: www.example.test, type: A, pools: [pa]}
`

// runAgent runs `detour agent args` until the test ends or stop is
// called, and returns its log.
func runAgent(t *testing.T, args ...string) (log *agentLog, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log = &agentLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runContext(ctx, append([]string{"agent"}, args...), log, log)
	}()
	stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("the agent did not stop within 20s")
		}
	}
	t.Cleanup(stop)
	return log, stop
}

func waitFor(t *testing.T, what string, log *agentLog, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s:\n%s", what, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An agent restarted with a --spec file edited since the cluster took
// its spec says so at start, and `detour spec diff` shows the edit; one
// whose file is the spec in force says nothing.
func TestAgentReportsSpecFileDrift(t *testing.T) {
	dir := t.TempDir()
	specFile := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(specFile, fmt.Appendf(nil, driftSpec, "192.0.2.1"), 0o644); err != nil {
		t.Fatal(err)
	}
	raft := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	apiAddr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	args := []string{"--node-id", "n-1", "--datacenter", "a", "--raft-addr", raft, "--peers", "n-1@" + raft,
		"--dns-addr", "127.0.0.1:0", "--api-addr", apiAddr, "--data-dir", filepath.Join(dir, "data"), "--spec", specFile, "--insecure"}
	const drift = "the --spec file differs from the spec in force"
	log, stop := runAgent(t, args...)
	api := "--api=http://" + apiAddr
	waitFor(t, "the first start is ready", log, func() bool {
		code, out := runCLI("status", api)
		return code == 0 && strings.Contains(out, "192.0.2.1")
	})
	stop()
	if strings.Contains(log.String(), drift) {
		t.Errorf("the seed of the cluster is reported as drifted:\n%s", log.String())
	}

	if err := os.WriteFile(specFile, fmt.Appendf(nil, driftSpec, "192.0.2.2"), 0o644); err != nil {
		t.Fatal(err)
	}
	log, _ = runAgent(t, args...)
	waitFor(t, "the restart reports the edited spec file", log, func() bool { return strings.Contains(log.String(), drift) })
	for _, want := range []string{"detour spec diff " + specFile, "detour spec apply " + specFile, "version 1"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the drift line lacks %q:\n%s", want, log.String())
		}
	}
	code, out := runCLI("spec", "diff", specFile, api)
	if code != 0 || !strings.Contains(out, "~ pool pa") || !strings.Contains(out, "192.0.2.2") {
		t.Errorf("spec diff does not show the edit:\n%s", out)
	}
}

// An agent started on another cluster's data dir refuses to start and
// says what to do; the running cluster's node logs the refusal too.
func TestAgentRefusesAnotherClustersDataDir(t *testing.T) {
	dir := t.TempDir()
	specFile := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(specFile, fmt.Appendf(nil, driftSpec, "192.0.2.1"), 0o644); err != nil {
		t.Fatal(err)
	}
	node := func(id, raft, dataDir string, peers ...string) []string {
		return []string{"--node-id", id, "--datacenter", "a", "--raft-addr", raft, "--peers", strings.Join(peers, ","),
			"--dns-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0", "--data-dir", dataDir, "--spec", specFile, "--insecure"}
	}
	raft1 := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	raft2 := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	realLog, _ := runAgent(t, node("n-1", raft1, filepath.Join(dir, "n-1"), "n-1@"+raft1)...)
	waitFor(t, "the real cluster has its ID", realLog, func() bool { return strings.Contains(realLog.String(), "cluster_id=c-") })
	// n-2 bootstraps a cluster of its own, then stops.
	foreignDir := filepath.Join(dir, "n-2")
	foreignLog, stop := runAgent(t, node("n-2", raft2, foreignDir, "n-2@"+raft2)...)
	waitFor(t, "the other cluster has its ID", foreignLog, func() bool { return strings.Contains(foreignLog.String(), "cluster_id=c-") })
	stop()
	// n-2 configured into the real cluster, on its old data dir.
	var out agentLog
	code := runContext(context.Background(), append([]string{"agent"}, node("n-2", raft2, foreignDir, "n-1@"+raft1, "n-2@"+raft2)...), &out, &out)
	if code == 0 {
		t.Fatalf("the agent started on another cluster's data dir:\n%s", out.String())
	}
	for _, want := range []string{"data dir " + foreignDir + " belongs to cluster c-", "peer n-1@" + raft1 + " belongs to cluster c-", "move the data dir away"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the refusal lacks %q:\n%s", want, out.String())
		}
	}
	waitFor(t, "the real node logs the refusal", realLog, func() bool { return strings.Contains(realLog.String(), "it belongs to another cluster") })
}
