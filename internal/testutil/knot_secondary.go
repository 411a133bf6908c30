package testutil

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Secondary describes a secondary server (Knot DNS, BIND, NSD) of one
// zone.
type Secondary struct {
	Zone    string // origin, fully qualified
	Primary string // host:port the zone is transferred from
	// Port is the port the secondary listens on (127.0.0.1, UDP and
	// TCP); 0 picks a free one. Pick it first with FreePort when the
	// primary must know it (to send NOTIFY) before the secondary starts.
	Port int
	// Key, when set, signs transfers and is required on NOTIFY.
	Key *TSIGKey
	// Source is the address the secondary transfers from (a loopback
	// address such as 127.0.0.2, for allow-lists); empty means its own
	// choice.
	Source string
}

// StartKnotSecondary runs Knot DNS as a secondary of k.Primary for k.Zone,
// accepting NOTIFY from 127.0.0.1, and returns its address. Knot starts
// without the zone and transfers it at once; the address answers SERVFAIL
// for the zone until then.
func StartKnotSecondary(t testing.TB, k Secondary) string {
	t.Helper()
	knotd := Require(t, "knotd")
	dir, host, port := k.prepare(t)
	var keyConf, keyRef, via string
	if k.Source != "" {
		via = "    via: " + k.Source + "\n"
	}
	if k.Key != nil {
		keyConf = fmt.Sprintf("key:\n  - id: %s\n    algorithm: %s\n    secret: %s\n", k.Key.Name, k.Key.Algorithm, k.Key.Secret)
		keyRef = "    key: " + k.Key.Name + "\n"
	}
	conf := fmt.Sprintf(`server:
  listen: 127.0.0.1@%d
  rundir: %s
log:
  - target: stderr
    any: info
database:
  storage: %s/db
%sremote:
  - id: primary
    address: %s@%s
%s%sacl:
  - id: notify-from-primary
    address: 127.0.0.1
%s    action: notify
template:
  - id: default
    storage: %s
    zonefile-sync: -1
    zonefile-load: none
    journal-content: changes
zone:
  - domain: %s
    master: primary
    acl: notify-from-primary
`, k.Port, dir, dir, keyConf, host, port, via, keyRef, keyRef, dir, strings.TrimSuffix(k.Zone, ".")+".")
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o755); err != nil {
		t.Fatal(err)
	}
	return k.run(t, dir, "knot.conf", conf, knotd, "-c")
}

// prepare gives k a port if it has none and returns a directory for the
// secondary and the primary's host and port.
func (k *Secondary) prepare(t testing.TB) (dir, host, port string) {
	t.Helper()
	if k.Port == 0 {
		k.Port = FreePort(t)
	}
	host, port, err := net.SplitHostPort(k.Primary)
	if err != nil {
		t.Fatalf("primary %q: %v", k.Primary, err)
	}
	return t.TempDir(), host, port
}

// run starts the secondary: runDaemon on its port.
func (k *Secondary) run(t testing.TB, dir, name, conf, daemon string, args ...string) string {
	t.Helper()
	return runDaemon(t, dir, name, conf, k.Port, daemon, args...)
}
