package testcluster

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// regionEndpointsEnv makes the test binary a helper process that serves a
// region's endpoints (TestRegionEndpointsProcess): apart from the nodes,
// as a datacenter's services are, so that their CPU is not taken from
// the observers' process (at 1,000 records the endpoints answer 9,000
// probes a second) and the observers' figures are theirs.
const regionEndpointsEnv = "DETOUR_REGION_ENDPOINTS"

// endpoints is the helper process serving a region's endpoints.
type endpoints struct {
	mu    sync.Mutex // one command at a time
	once  sync.Once
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	addrs map[string]string // by datacenter
}

// startEndpoints starts the helper process, allowed files open files.
func startEndpoints(t testing.TB, files uint64) *endpoints {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRegionEndpointsProcess$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", regionEndpointsEnv, files))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("endpoint process: %v", err)
	}
	e := &endpoints{cmd: cmd, in: in, out: bufio.NewScanner(stdout), addrs: map[string]string{}}
	t.Cleanup(e.close)
	for e.out.Scan() {
		f := strings.Fields(e.out.Text())
		switch {
		case len(f) == 3 && f[0] == "ADDR":
			e.addrs[f[1]] = f[2]
		case len(f) > 0 && f[0] == "READY":
			return e
		case len(f) > 0 && f[0] == "ERROR":
			t.Fatalf("endpoint process: %s", e.out.Text())
		}
	}
	t.Fatalf("endpoint process ended before it was ready: %v", e.out.Err())
	return nil
}

// ask sends a command and returns the fields of the answer.
func (e *endpoints) ask(cmd string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := fmt.Fprintln(e.in, cmd); err != nil {
		return nil
	}
	if !e.out.Scan() {
		return nil
	}
	return strings.Fields(e.out.Text())
}

// kill closes datacenter dc's server and its connections.
func (e *endpoints) kill(dc string) { e.ask("kill " + dc) }

// count returns the probes answered so far and the process's CPU.
func (e *endpoints) count() (int64, time.Duration) {
	f := e.ask("count")
	if len(f) != 3 {
		return 0, 0
	}
	n, _ := strconv.ParseInt(f[1], 10, 64)
	cpu, _ := strconv.ParseInt(f[2], 10, 64)
	return n, time.Duration(cpu)
}

// close ends the helper process; again, it does nothing.
func (e *endpoints) close() { e.once.Do(e.stop) }

func (e *endpoints) stop() {
	e.in.Close()
	done := make(chan struct{})
	go func() { e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = e.cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
}
