package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
)

// cli runs a client command in this process and returns its exit code
// and output.
func cli(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// The operator's safety rails against real agent processes (issue 14.1,
// 14.4, 14.8): a typo'd member is refused, the drill reports the control
// plane, a removal down to two voters needs --force, a killed node is
// shown unreachable with the quorum line, and `status` fails without a
// leader.
func TestMembershipRailsAgentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three processes")
	}
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
	apis := make([]string, len(ids))
	for i, id := range ids {
		apis[i] = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
		procs[i] = &agentProc{args: []string{"agent",
			"--node-id", id, "--datacenter", dcs[i],
			"--raft-addr", raft[i], "--peers", strings.Join(peers, ","),
			"--dns-addr", fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)), "--api-addr", apis[i],
			"--data-dir", filepath.Join(dir, id), "--spec", specFile, "--insecure",
			"--check-allow-networks", "127.0.0.0/8",
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
	kill := func(i int) {
		if err := procs[i].cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = procs[i].cmd.Wait()
		sites[i].Close()
	}
	for _, a := range apis {
		waitHTTP(t, "http://"+a+"/v1/ready", http.StatusOK, 30*time.Second)
	}
	west := "http://" + apis[1]

	// The typo: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	code, _, errOut := cli("members", "add", "edge-2@"+dead, "--api", west)
	if code != 1 || !strings.Contains(errOut, "nothing answers at "+dead) || !strings.Contains(errOut, "nothing was changed") {
		t.Fatalf("members add at a dead address: exit %d, %s", code, errOut)
	}
	code, out, _ := cli("members", "--api", west)
	if code != 0 || !strings.Contains(out, "quorum: 3/3 voters up, can lose 1 more") || strings.Contains(out, "edge-2") {
		t.Fatalf("members after the refused add: exit %d\n%s", code, out)
	}
	code, out, _ = cli("drill", "--lose", "us-east", "--api", west)
	if code != 0 || !strings.Contains(out, "control plane: losing us-east leaves 2/3 voters: quorum kept") {
		t.Errorf("drill: exit %d\n%s", code, out)
	}
	code, _, errOut = cli("members", "remove", "us-west-1", "--api", west)
	if code != 1 || !strings.Contains(errOut, "3 voters tolerate 1 failure; 2 voters tolerate none") {
		t.Errorf("remove down to two voters without --force: exit %d, %s", code, errOut)
	}
	if code, out, _ = cli("status", "--check", "--api", west); code != 0 || !strings.HasPrefix(out, "DETOUR OK - leader ") {
		t.Errorf("status --check on a healthy cluster: exit %d, %s", code, out)
	}

	// us-east dies: shown unreachable, not as a follower; one voter
	// failure is left to survive no more.
	kill(0)
	// The warning once a new leader judges the quorum: before the
	// election, "could not be asked" warns too, about the dead leader.
	waitCLI(t, 15*time.Second, 1, "no voter failure left to survive", "status", "--check", "--api", west)
	code, out, _ = cli("status", "--api", west)
	if code != 0 || !strings.Contains(out, "quorum: 2/3 voters up, can lose 0 more") {
		t.Errorf("status with one voter down: exit %d\n%s", code, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "us-east-1 ") && (strings.Contains(line, "follower") || !strings.Contains(line, "UNREACHABLE")) {
			t.Errorf("the killed node shows as: %s", line)
		}
	}
	if code, out, _ = cli("events", "--api", west); !strings.Contains(out, "is the leader (term") {
		t.Errorf("no leader event: exit %d\n%s", code, out)
	}

	// eu-west dies too: us-west alone has no leader and is cut off.
	kill(2)
	waitCLI(t, 20*time.Second, 2, "DETOUR CRITICAL", "status", "--check", "--api", west)
	code, out, errOut = cli("status", "--api", west)
	if code != 1 || !strings.Contains(errOut, "detour: status:") {
		t.Errorf("status without a leader: exit %d, stderr %s\n%s", code, errOut, out)
	}
	waitHTTP(t, west+"/v1/ready", http.StatusServiceUnavailable, 10*time.Second)

	// What the cut-off node says of itself (issue 14.3): not its
	// replicated "fresh" marks and "follower" roles, which it cannot
	// vouch for, but what its DNS server answers from its own checks.
	_, out, _ = cli("status", "--api", west)
	for _, want := range []string{"THIS NODE IS CUT OFF", "unknown (cut off)",
		"DNS ANSWERS OF THIS NODE (cut off, minority_mode local", "www.example.test. A → 198.51.100.10  pool web-us-west"} {
		if !strings.Contains(out, want) {
			t.Errorf("status of the cut-off node lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "-1 ") && (strings.Contains(line, "follower") || strings.Contains(line, " fresh")) {
			t.Errorf("the cut-off node shows a member it cannot see as: %s", line)
		}
	}
	if !strings.Contains(out, "us-west-1  us-west") || !strings.Contains(out, "candidate") {
		t.Errorf("the cut-off node does not show itself as a candidate:\n%s", out)
	}
}

// waitCLI runs a client command until it exits code with want in its
// output.
func waitCLI(t *testing.T, timeout time.Duration, code int, want string, args ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, out, errOut := cli(args...)
		if c == code && strings.Contains(out+errOut, want) {
			t.Logf("%s: %s", strings.Join(args[:2], " "), strings.TrimSpace(out))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v: exit %d, want %d with %q:\n%s%s", args, c, code, want, out, errOut)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitHTTP polls url until it answers code.
func waitHTTP(t *testing.T, url string, code int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == code {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %d within %s (err %v)", url, code, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
