// Package deploy_test checks what deploy/ ships: the Debian package and
// its systemd unit, the Prometheus rules and the Grafana dashboard.
package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

// deb is the package built once for the tests that need it, and the
// directory it was unpacked into.
var deb struct {
	once      sync.Once
	path, dir string
	err       error
	out       []byte
}

const debVersion = "1.2.3~test"

func buildDeb(t *testing.T) (path, root string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the package")
	}
	testutil.Require(t, "dpkg-deb")
	deb.once.Do(func() {
		out, err := os.MkdirTemp("", "detour-deb-")
		if err != nil {
			deb.err = err
			return
		}
		cmd := exec.Command("./deb/build.sh", out)
		cmd.Env = append(os.Environ(), "DETOUR_VERSION="+debVersion)
		if deb.out, deb.err = cmd.Output(); deb.err != nil {
			return
		}
		deb.path = strings.TrimSpace(string(deb.out))
		deb.dir = filepath.Join(out, "root")
		deb.out, deb.err = exec.Command("dpkg-deb", "-x", deb.path, deb.dir).CombinedOutput()
	})
	if deb.err != nil {
		t.Fatalf("building the package: %v\n%s", deb.err, deb.out)
	}
	return deb.path, deb.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if deb.path != "" {
		os.RemoveAll(filepath.Dir(deb.path))
	}
	os.Exit(code)
}

// The package holds the binary, the unit, the examples and the
// maintainer scripts where Debian and the unit expect them, and the
// binary says the version the package has.
func TestDebPackage(t *testing.T) {
	path, root := buildDeb(t)
	if !strings.HasSuffix(filepath.Base(path), "_"+debVersion+"_"+goarchDeb(t)+".deb") {
		t.Errorf("package file %s, want its version and architecture in the name", path)
	}
	for _, f := range []struct {
		path string
		mode os.FileMode
	}{
		{"usr/bin/detour", 0o755}, {"lib/systemd/system/detour.service", 0o644},
		{"etc/detour/node.yaml", 0o644}, {"etc/detour/spec.yaml", 0o644}, {"etc/default/detour", 0o600},
	} {
		st, err := os.Stat(filepath.Join(root, f.path))
		if err != nil {
			t.Errorf("%s: %v", f.path, err)
			continue
		}
		if st.Mode().Perm() != f.mode {
			t.Errorf("%s: mode %v, want %v", f.path, st.Mode().Perm(), f.mode)
		}
	}
	fields, err := exec.Command("dpkg-deb", "-f", path, "Package", "Version", "Depends").Output()
	if err != nil || string(fields) != "Package: detour\nVersion: "+debVersion+"\nDepends: passwd\n" {
		t.Errorf("control fields: %q, %v", fields, err)
	}
	conffiles, err := exec.Command("dpkg-deb", "--info", path, "conffiles").Output()
	if err != nil || string(conffiles) != "/etc/detour/node.yaml\n/etc/detour/spec.yaml\n/etc/default/detour\n" {
		t.Errorf("conffiles: %q, %v", conffiles, err)
	}
	out, err := exec.Command(filepath.Join(root, "usr/bin/detour"), "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "detour "+debVersion+"\n") || !strings.Contains(string(out), "built:") {
		t.Errorf("the packaged detour version: %v\n%s", err, out)
	}
	out, err = exec.Command(filepath.Join(root, "usr/bin/detour"), "check", filepath.Join(root, "etc/detour/spec.yaml")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "0 warnings") {
		t.Errorf("detour check of the packaged spec: %v\n%s", err, out)
	}
}

func goarchDeb(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOARCH").Output()
	if err != nil {
		t.Fatal(err)
	}
	a := strings.TrimSpace(string(out))
	switch a {
	case "386":
		return "i386"
	case "arm":
		return "armhf"
	}
	return a
}

// The unit passes systemd-analyze verify without a single warning (an
// unknown key is only a warning there), and its exposure as rated by
// systemd-analyze security stays at 2.0 or below.
func TestSystemdUnit(t *testing.T) {
	analyze := testutil.Require(t, "systemd-analyze")
	_, root := buildDeb(t)
	unit := filepath.Join(root, "lib/systemd/system/detour.service")
	if st, err := os.Stat("/usr/bin/detour"); err != nil || st.Mode()&0o111 == 0 {
		// verify wants ExecStart's binary where the unit says: not
		// installed here (CI installs the package first), so the
		// unit's copy points at the unpacked one; nothing else changes.
		data, err := os.ReadFile(unit)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Replace(string(data), "ExecStart=/usr/bin/detour ", "ExecStart="+filepath.Join(root, "usr/bin/detour")+" ", 1)
		unit = filepath.Join(t.TempDir(), "detour.service")
		if err := os.WriteFile(unit, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=yes", "--threshold=20", unit).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security: exposure over 2.0 (%v):\n%s", err, out)
	}
	for _, want := range []string{"ProtectSystem=strict", "StateDirectory=detour", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "NoNewPrivileges=yes", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK",
		"Restart=on-failure", "User=detour", "ExecStart=/usr/bin/detour agent --config /etc/detour/node.yaml"} {
		if data, _ := os.ReadFile(filepath.Join(root, "lib/systemd/system/detour.service")); !strings.Contains(string(data), "\n"+want+"\n") {
			t.Errorf("the unit has no line %q", want)
		}
	}
}

// The example node file and spec the package installs in /etc/detour
// load: the node file strictly (no unknown key), the spec without a
// warning.
func TestDebExamples(t *testing.T) {
	cfg, err := node.LoadFile("deb/etc/node.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/var/lib/detour" || cfg.Spec != "/etc/detour/spec.yaml" || cfg.LogFormat != "json" {
		t.Errorf("node.yaml: data_dir %q, spec %q, log_format %q; want the unit's state directory, the packaged spec, json",
			cfg.DataDir, cfg.Spec, cfg.LogFormat)
	}
	sp, err := spec.Load("deb/etc/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if ws := sp.Lint(); len(ws) > 0 {
		t.Errorf("spec.yaml lints: %v", ws)
	}
}
