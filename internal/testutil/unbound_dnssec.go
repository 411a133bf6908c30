package testutil

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// StartValidatingUnbound runs a validating resolver (unbound's validator
// and iterator) with stub zones pointing at detour (stubs maps zone ->
// server address) and anchors (DS or DNSKEY records in zone-file text)
// as its trust anchors.
func StartValidatingUnbound(t testing.TB, stubs map[string]string, anchors []string) string {
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
  module-config: "validator iterator"
  trust-anchor-file: "%s"
  val-log-level: 2
  access-control: 127.0.0.0/8 allow
  local-zone: "test." nodefault
  root-hints: ""
  num-threads: 1
  cache-min-ttl: 0
  cache-max-ttl: 1
  cache-max-negative-ttl: 1
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
