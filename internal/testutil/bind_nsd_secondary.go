package testutil

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// StartBINDSecondary runs BIND 9 (named) as a secondary of k.Primary for
// k.Zone, accepting NOTIFY from 127.0.0.1, with the configuration that
// docs/hidden-primary.md gives operators, and returns its address.
func StartBINDSecondary(t testing.TB, k Secondary) string {
	t.Helper()
	named := Require(t, "named")
	dir, host, port := k.prepare(t)
	zone := strings.TrimSuffix(k.Zone, ".")
	var keyConf, keyRef, source string
	if k.Key != nil {
		keyConf = fmt.Sprintf("key %q {\n    algorithm %s;\n    secret %q;\n};\n", k.Key.Name, k.Key.Algorithm, k.Key.Secret)
		keyRef = fmt.Sprintf(" key %q", k.Key.Name)
	}
	if k.Source != "" {
		source = fmt.Sprintf("    transfer-source %s;\n    notify-source %s;\n", k.Source, k.Source)
	}
	conf := fmt.Sprintf(`options {
    directory %q;
    pid-file %q;
    listen-on port %d { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    notify no;
    dnssec-validation no;
%s};
controls { };
%szone %q {
    type secondary;
    file "secondary.db";
    primaries { %s port %s%s; };
    allow-notify { 127.0.0.1; };
};
`, dir, filepath.Join(dir, "named.pid"), k.Port, source, keyConf, zone, host, port, keyRef)
	// -g: foreground, log to stderr; -n 1: one worker is plenty.
	return k.run(t, dir, "named.conf", conf, named, "-g", "-n", "1", "-c")
}

// StartNSDSecondary runs NSD 4 as a secondary of k.Primary for k.Zone,
// accepting NOTIFY from 127.0.0.1, with the configuration that
// docs/hidden-primary.md gives operators, and returns its address.
func StartNSDSecondary(t testing.TB, k Secondary) string {
	t.Helper()
	nsd := Require(t, "nsd")
	dir, host, port := k.prepare(t)
	keyRef := "NOKEY"
	var keyConf, source string
	if k.Key != nil {
		keyConf = fmt.Sprintf("key:\n    name: %q\n    algorithm: %s\n    secret: %q\n", k.Key.Name, k.Key.Algorithm, k.Key.Secret)
		keyRef = k.Key.Name
	}
	if k.Source != "" {
		source = "    outgoing-interface: " + k.Source + "\n"
	}
	in := func(name string) string { return fmt.Sprintf("%q", filepath.Join(dir, name)) }
	conf := fmt.Sprintf(`server:
    ip-address: 127.0.0.1
    port: %d
    do-ip6: no
    username: ""
    chroot: ""
    database: ""
    zonesdir: %q
    zonelistfile: %s
    xfrdfile: %s
    xfrdir: %q
    pidfile: %s
    server-count: 1
    verbosity: 2
remote-control:
    control-enable: no
%szone:
    name: %q
    zonefile: "secondary.zone"
    request-xfr: %s@%s %s
    allow-notify: 127.0.0.1 %s
%s`, k.Port, dir, in("zone.list"), in("xfrd.state"), dir, in("nsd.pid"), keyConf,
		strings.TrimSuffix(k.Zone, "."), host, port, keyRef, keyRef, source)
	// -d: foreground.
	return k.run(t, dir, "nsd.conf", conf, nsd, "-d", "-c")
}
