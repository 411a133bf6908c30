package main

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
)

// agentProc is one `detour agent` process.
type agentProc struct {
	cmd  *exec.Cmd
	dns  string
	args []string
	mu   sync.Mutex
	log  strings.Builder
}

func (a *agentProc) start(t *testing.T, bin string) {
	t.Helper()
	a.cmd = exec.Command(bin, a.args...)
	stderr, _ := a.cmd.StderrPipe()
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			a.mu.Lock()
			a.log.WriteString(sc.Text() + "\n")
			a.mu.Unlock()
		}
	}()
}

func (a *agentProc) logs() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.log.String()
}

// Three real agent processes, started with the flags of contract.md,
// form a cluster; one is killed with SIGKILL together with its site, the
// others fail over, and the killed one restarts from its data dir and
// rejoins.
func TestThreeAgentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three processes")
	}
	testutil.Require(t, "dig")
	bin := filepath.Join(t.TempDir(), "detour")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	ids := []string{"us-east-1", "us-west-1", "eu-west-1"}
	dcs := []string{"us-east", "us-west", "eu-west"}
	answers := []string{"192.0.2.10", "198.51.100.10", "203.0.113.10"}
	specFile, sites, raft, peers := threeSiteCluster(t, dir, ids, dcs, answers)
	procs := make([]*agentProc, len(ids))
	for i, id := range ids {
		dns := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
		procs[i] = &agentProc{dns: dns, args: []string{"agent",
			"--node-id", id, "--datacenter", dcs[i],
			"--raft-addr", raft[i], "--peers", strings.Join(peers, ","),
			"--dns-addr", dns, "--api-addr", fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)),
			"--data-dir", filepath.Join(dir, id), "--spec", specFile, "--insecure",
			"--check-allow-networks", "127.0.0.0/8", // the sites listen on loopback
		}}
		procs[i].start(t, bin)
	}
	t.Cleanup(func() {
		for _, p := range procs {
			if p.cmd.ProcessState == nil {
				_ = p.cmd.Process.Kill()
				_ = p.cmd.Wait()
			}
		}
		if t.Failed() {
			for i, p := range procs {
				t.Logf("--- %s\n%s", ids[i], p.logs())
			}
		}
	})
	waitFor := func(p *agentProc, want string, timeout time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			// dig fails outright on a port nothing listens on yet.
			if !strings.Contains(p.logs(), "addr="+p.dns) {
				if time.Since(start) > timeout {
					t.Fatalf("%s never listened:\n%s", p.dns, p.logs())
				}
				time.Sleep(50 * time.Millisecond)
				continue
			}
			got := strings.TrimSpace(testutil.Dig(t, p.dns, "+short", "www.example.test"))
			if got == want {
				return time.Since(start)
			}
			if time.Since(start) > timeout {
				t.Fatalf("%s answers %q, want %s", p.dns, got, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, p := range procs {
		waitFor(p, answers[0], 30*time.Second)
	}
	// Give every observer time for its first verdicts.
	time.Sleep(2 * time.Second)

	// us-east dies: its process (SIGKILL, no goodbye) and its site.
	if err := procs[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = procs[0].cmd.Wait()
	sites[0].Close()
	for _, p := range procs[1:] {
		took := waitFor(p, answers[1], 20*time.Second)
		t.Logf("%s fails over %s after the SIGKILL", p.dns, took.Round(time.Millisecond))
	}

	// It comes back from its data dir and catches up. Its Raft address
	// is what peers know; DNS and API ports are picked afresh, since
	// another test may have taken the old ones meanwhile.
	p0 := procs[0]
	p0.dns = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	for i := range p0.args {
		switch p0.args[i] {
		case "--dns-addr":
			p0.args[i+1] = p0.dns
		case "--api-addr":
			p0.args[i+1] = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
		}
	}
	procs[0].start(t, bin)
	waitFor(procs[0], answers[1], 30*time.Second)
	if !strings.Contains(procs[0].logs(), "rejoining with existing state") {
		t.Errorf("the restarted node did not rejoin with its state:\n%s", procs[0].logs())
	}
}

// threeSiteCluster writes the spec of the agent-process tests into dir:
// www.example.test failing over across one site per datacenter (started
// here, on loopback, answering "ok"), each answering answers[i]. It
// returns the spec file, the sites, and each node's Raft address and
// --peers entry.
func threeSiteCluster(t *testing.T, dir string, ids, dcs, answers []string) (specFile string, sites []*httptest.Server, raft, peers []string) {
	t.Helper()
	var pools strings.Builder
	for i, dc := range dcs {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
		t.Cleanup(s.Close)
		sites = append(sites, s)
		fmt.Fprintf(&pools, "  - {name: web-%s, datacenter: %s, check: web, endpoints: [{address: %s, check_address: %q}]}\n", dc, dc, answers[i], s.Listener.Addr().String())
	}
	specText := `zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: "ns1 IN A 127.0.0.1\n"
datacenters: [{name: us-east}, {name: us-west}, {name: eu-west}]
checks:
  - {name: web, type: http, path: /healthz, expect_body: ok, interval: 500ms, timeout: 250ms, rise: 2, fall: 2}
pools:
` + pools.String() + `records:
  - {name: www.example.test, type: A, ttl: 1, pools: [web-us-east, web-us-west, web-eu-west], fallback: [192.0.2.99]}
`
	specFile = filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(specFile, []byte(specText), 0o644); err != nil {
		t.Fatal(err)
	}
	raft = make([]string, len(ids))
	for i, id := range ids {
		raft[i] = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
		peers = append(peers, id+"@"+raft[i])
	}
	return specFile, sites, raft, peers
}
