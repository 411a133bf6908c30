package testutil

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// StartUnbound runs a recursive resolver with stub zones pointing at
// detour (or any server): stubs maps zone -> server address.
func StartUnbound(t testing.TB, stubs map[string]string) string {
	t.Helper()
	return startUnbound(t, stubs, "iterator", func(string) string { return "  cache-min-ttl: 0\n" })
}

// StartUnboundECS runs a recursive resolver with the subnetcache module
// (EDNS Client Subnet, RFC 7871) and stub zones pointing at detour:
// stubs maps zone -> server address. It sends ECS to 127.0.0.1 (the
// stubs), taken from the client's own ECS option when the query has one,
// and caches answers per scope.
func StartUnboundECS(t testing.TB, stubs map[string]string) string {
	t.Helper()
	return startUnbound(t, stubs, "subnetcache validator iterator", func(string) string { return unboundECS })
}

// StartValidatingUnbound runs a validating resolver (unbound's validator
// and iterator) with stub zones pointing at detour (stubs maps zone ->
// server address) and anchors (DS or DNSKEY records in zone-file text)
// as its trust anchors. Its cache keeps nothing past a second, so a test
// sees each change of the zone.
func StartValidatingUnbound(t testing.TB, stubs map[string]string, anchors []string) string {
	t.Helper()
	return startUnbound(t, stubs, "validator iterator", func(dir string) string {
		return unboundAnchors(t, dir, anchors) + "  cache-min-ttl: 0\n  cache-max-ttl: 1\n  cache-max-negative-ttl: 1\n"
	})
}

// StartValidatingUnboundECS runs a validating resolver with the
// subnetcache module (as StartUnboundECS: ECS sent to 127.0.0.1, taken
// from the client's own option, answers cached per scope) and anchors
// (DS or DNSKEY records in zone-file text) as its trust anchors; stubs
// maps zone -> server address.
func StartValidatingUnboundECS(t testing.TB, stubs map[string]string, anchors []string) string {
	t.Helper()
	return startUnbound(t, stubs, "subnetcache validator iterator", func(dir string) string {
		return unboundECS + unboundAnchors(t, dir, anchors)
	})
}

// unboundECS sends the client's subnet to the stubs (on 127.0.0.1).
const unboundECS = `  send-client-subnet: 127.0.0.1
  max-client-subnet-ipv4: 24
  max-client-subnet-ipv6: 56
`

// unboundAnchors writes anchors into dir and returns the settings that
// validate with them (and do not prove names away from cached NSECs).
func unboundAnchors(t testing.TB, dir string, anchors []string) string {
	t.Helper()
	file := filepath.Join(dir, "anchors")
	if err := os.WriteFile(file, []byte(strings.Join(anchors, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("  trust-anchor-file: %q\n  val-log-level: 2\n  qname-minimisation: no\n  aggressive-nsec: no\n", file)
}

// startUnbound runs unbound on loopback with the given modules, the
// settings extra returns for its directory, and stub zones (zone ->
// server address).
func startUnbound(t testing.TB, stubs map[string]string, modules string, extra func(dir string) string) string {
	t.Helper()
	unbound := Require(t, "unbound")
	dir := t.TempDir()
	port := FreePort(t)
	var conf strings.Builder
	fmt.Fprintf(&conf, `server:
  interface: 127.0.0.1
  port: %d
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "%s"
  pidfile: "%s/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 1
  do-ip6: no
  do-not-query-localhost: no
  module-config: %q
  access-control: 127.0.0.0/8 allow
  local-zone: "test." nodefault
  root-hints: ""
  num-threads: 1
  serve-expired: no
`, port, dir, dir, modules)
	conf.WriteString(extra(dir))
	for zone, addr := range stubs {
		host, p, _ := net.SplitHostPort(addr)
		fmt.Fprintf(&conf, "stub-zone:\n  name: %q\n  stub-addr: %s@%s\n", zone, host, p)
	}
	return runDaemon(t, dir, "unbound.conf", conf.String(), port, unbound, "-d", "-c")
}
