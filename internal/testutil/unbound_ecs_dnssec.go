package testutil

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// StartValidatingUnboundECS runs a validating resolver with the
// subnetcache module (as StartUnboundECS: ECS sent to 127.0.0.1, taken
// from the client's own option, answers cached per scope) and anchors
// (DS or DNSKEY records in zone-file text) as its trust anchors; stubs
// maps zone -> server address.
func StartValidatingUnboundECS(t testing.TB, stubs map[string]string, anchors []string) string {
	t.Helper()
	unbound := Require(t, "unbound")
	dir := t.TempDir()
	port := FreePort(t)
	anchorFile := filepath.Join(dir, "anchors")
	if err := os.WriteFile(anchorFile, []byte(strings.Join(anchors, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
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
  module-config: "subnetcache validator iterator"
  send-client-subnet: 127.0.0.1
  max-client-subnet-ipv4: 24
  max-client-subnet-ipv6: 56
  trust-anchor-file: "%s"
  val-log-level: 2
  access-control: 127.0.0.0/8 allow
  local-zone: "test." nodefault
  root-hints: ""
  num-threads: 1
  serve-expired: no
  qname-minimisation: no
  aggressive-nsec: no
`, port, dir, dir, anchorFile)
	for zone, addr := range stubs {
		host, p, _ := net.SplitHostPort(addr)
		fmt.Fprintf(&conf, "stub-zone:\n  name: %q\n  stub-addr: %s@%s\n", zone, host, p)
	}
	return runDaemon(t, dir, "unbound.conf", conf.String(), port, unbound, "-d", "-c")
}
