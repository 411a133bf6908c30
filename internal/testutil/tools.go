// Package testutil starts the real programs tests compare detour with
// (Knot DNS, unbound, dig) on loopback, finds free ports, and holds the
// tests' one wait-until helper, Eventually (its fixture subpackage holds
// the three-datacenter spec the demo and the test cluster share).
package testutil

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Require returns the path of a program the test needs. Without it the
// test is skipped, except under CI (CI set), where it fails: a missing
// install step must show.
func Require(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed; .ci/run must install it", name)
	}
	t.Skipf("%s is not installed (apt-get install the package named in .ci/run)", name)
	return ""
}

// FreePort returns a port free for both UDP and TCP on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		u.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// WaitDNS waits until a DNS server answers on addr over UDP.
func WaitDNS(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	// A minimal query for ". SOA".
	q := []byte{0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1}
	for time.Now().Before(deadline) {
		c, err := net.Dial("udp", addr)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
			_, _ = c.Write(q)
			buf := make([]byte, 512)
			n, err := c.Read(buf)
			c.Close()
			if err == nil && n >= 12 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no DNS server answered on %s within %s", addr, timeout)
}

// Daemon runs a program for the length of a test.
type Daemon struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

// StartDaemon starts name with args; it is killed when the test ends and
// its output is logged if the test failed.
func StartDaemon(t testing.TB, path string, args ...string) *Daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &Daemon{cmd: exec.CommandContext(ctx, path, args...)}
	d.cmd.Stdout, d.cmd.Stderr = &d.out, &d.out
	if err := d.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", path, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = d.cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(path), d.out.String())
		}
	})
	return d
}

// StartKnot serves zones (origin -> zone file text) with Knot DNS on a
// free loopback port and returns its address.
func StartKnot(t testing.TB, zones map[string]string) string {
	t.Helper()
	return StartKnotWith(t, KnotOptions{}, zones)
}

// KnotOptions are server settings of StartKnotWith; the zero value is
// Knot's defaults.
type KnotOptions struct {
	// NSID is the name server identifier Knot sends to queries that ask
	// (RFC 5001); empty leaves Knot's default, the host name.
	NSID string
}

// StartKnotWith is StartKnot with server settings.
func StartKnotWith(t testing.TB, opts KnotOptions, zones map[string]string) string {
	t.Helper()
	knotd := Require(t, "knotd")
	dir := t.TempDir()
	port := FreePort(t)
	var conf strings.Builder
	fmt.Fprintf(&conf, "server:\n  listen: 127.0.0.1@%d\n  rundir: %s\n", port, dir)
	if opts.NSID != "" {
		fmt.Fprintf(&conf, "  nsid: %q\n", opts.NSID)
	}
	fmt.Fprintf(&conf, "log:\n  - target: stderr\n    any: warning\n")
	fmt.Fprintf(&conf, "database:\n  storage: %s/db\n", dir)
	fmt.Fprintf(&conf, "template:\n  - id: default\n    storage: %s\n    zonefile-sync: -1\n    journal-content: none\n", dir)
	conf.WriteString("zone:\n")
	for origin, text := range zones {
		file := strings.TrimSuffix(origin, ".") + ".zone"
		if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&conf, "  - domain: %s\n    file: %s\n", origin, file)
	}
	return runDaemon(t, dir, "knot.conf", conf.String(), port, knotd, "-c")
}

// runDaemon writes conf to dir/name, starts daemon with args and the
// configuration's path last, and returns its address on 127.0.0.1:port
// once it answers DNS.
func runDaemon(t testing.TB, dir, name, conf string, port int, daemon string, args ...string) string {
	t.Helper()
	cf := filepath.Join(dir, name)
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	StartDaemon(t, daemon, append(args, cf)...)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	WaitDNS(t, addr, 10*time.Second)
	return addr
}

// Dig runs dig against addr with args and returns its output.
func Dig(t testing.TB, addr string, args ...string) string {
	t.Helper()
	dig := Require(t, "dig")
	host, port, _ := net.SplitHostPort(addr)
	full := append([]string{"@" + host, "-p", port, "+time=2", "+tries=1"}, args...)
	out, err := exec.Command(dig, full...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %s: %v\n%s", strings.Join(full, " "), err, out)
	}
	return string(out)
}
