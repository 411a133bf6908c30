package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TSIGKey is a TSIG key as Knot's configuration and miekg/dns name it.
type TSIGKey struct {
	Name      string // detour-key
	Algorithm string // hmac-sha256, hmac-sha512
	Secret    string // base64
}

// StartKnotUpdate serves one zone with Knot DNS on a free loopback port,
// accepting RFC 2136 updates signed with key (and no others), and returns
// its address.
func StartKnotUpdate(t testing.TB, origin, zoneText string, key TSIGKey) string {
	t.Helper()
	knotd := Require(t, "knotd")
	dir := t.TempDir()
	port := FreePort(t)
	file := strings.TrimSuffix(origin, ".") + ".zone"
	if err := os.WriteFile(filepath.Join(dir, file), []byte(zoneText), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`server:
  listen: 127.0.0.1@%d
  rundir: %s
log:
  - target: stderr
    any: info
database:
  storage: %s/db
key:
  - id: %s
    algorithm: %s
    secret: %s
acl:
  - id: detour-update
    key: %s
    action: update
template:
  - id: default
    storage: %s
    zonefile-sync: -1
    journal-content: changes
zone:
  - domain: %s
    file: %s
    acl: detour-update
`, port, dir, dir, key.Name, key.Algorithm, key.Secret, key.Name, dir, origin, file)
	// Updates go through the journal, whose database directory must exist.
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o755); err != nil {
		t.Fatal(err)
	}
	return runDaemon(t, dir, "knot.conf", conf, port, knotd, "-c")
}
