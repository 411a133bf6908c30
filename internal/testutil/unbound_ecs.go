package testutil

import (
	"fmt"
	"net"
	"testing"
)

// StartUnboundECS runs a recursive resolver with the subnetcache module
// (EDNS Client Subnet, RFC 7871) and stub zones pointing at detour:
// stubs maps zone -> server address. It sends ECS to 127.0.0.1 (the
// stubs), taken from the client's own ECS option when the query has one,
// and caches answers per scope.
func StartUnboundECS(t testing.TB, stubs map[string]string) string {
	t.Helper()
	unbound := Require(t, "unbound")
	dir := t.TempDir()
	port := FreePort(t)
	conf := fmt.Sprintf(`server:
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
  access-control: 127.0.0.0/8 allow
  local-zone: "test." nodefault
  root-hints: ""
  num-threads: 1
  serve-expired: no
`, port, dir, dir)
	for zone, addr := range stubs {
		host, p, _ := net.SplitHostPort(addr)
		conf += fmt.Sprintf("stub-zone:\n  name: %q\n  stub-addr: %s@%s\n", zone, host, p)
	}
	return runDaemon(t, dir, "unbound.conf", conf, port, unbound, "-d", "-c")
}
