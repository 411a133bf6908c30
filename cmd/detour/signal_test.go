package main

import (
	"bufio"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
)

// The real binary: agent --dev serves, and SIGTERM stops it with exit 0.
func TestAgentDevStopsCleanlyOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "detour")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dnsPort, apiPort := testutil.FreePort(t), testutil.FreePort(t)
	cmd := exec.Command(bin, "agent", "--dev", "--spec", "../../examples/dev/spec.yaml",
		"--dns-addr", fmt.Sprintf("127.0.0.1:%d", dnsPort), "--api-addr", fmt.Sprintf("127.0.0.1:%d", apiPort))
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	logged := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
		}
		close(logged)
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", dnsPort)
	testutil.WaitDNS(t, addr, 10*time.Second)
	// The answer depends on which dev sites are up; that there is one
	// is what matters here.
	deadline := time.Now().Add(10 * time.Second)
	for got := ""; !strings.HasPrefix(got, "127.0.0."); got = strings.TrimSpace(testutil.Dig(t, addr, "+short", "www.dev.test")) {
		if time.Now().After(deadline) {
			t.Fatalf("www.dev.test = %q after 10s\n%s", got, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { <-logged; done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, log.String())
		}
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("still running 15s after SIGTERM\n%s", log.String())
	}
	if !strings.Contains(log.String(), "shutting down") {
		t.Errorf("no shutdown logged:\n%s", log.String())
	}
}
