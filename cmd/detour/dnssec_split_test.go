package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/dnssec"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

const dnssecSplitSpec = `
zones:
  - name: example.test
    ttl: 1
    soa: {mname: ns1.example.test., rname: hostmaster.example.test., negative_ttl: 1}
    nameservers: [ns1.example.test.]
    dnssec: {enabled: true, keys: split, dnskey_ttl: 1}
    static: |
      ns1 IN A 127.0.0.1
      www IN A 192.0.2.10
datacenters: [{name: a}, {name: b}, {name: c}]
`

// TestDNSSECSplitCommands: keygen --keys split writes a KSK and a ZSK a
// node signs with; status names their roles, ds gives the KSK's DS
// alone; rollover rolls the ZSK by pre-publication in one run (the
// node takes its steps at the times in the key files), and --ksk the
// KSK by double signature.
func TestDNSSECSplitCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if code, out := runDNSSEC("dnssec", "keygen", "example.test", "--dir", dir, "--keys", "split", "--dnskey-ttl", "1"); code != 0 || !strings.Contains(out, "KSK") || !strings.Contains(out, "ZSK") {
		t.Fatalf("keygen --keys split: %d\n%s", code, out)
	}
	ring, err := dnssec.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	keys := ring.Keys("example.test")
	if len(keys) != 2 || len(dnssec.ZSKs(keys)) != 1 || len(dnssec.SEPKeys(keys)) != 1 {
		t.Fatalf("keys: %v", keys)
	}
	ksk, zsk := dnssec.SEPKeys(keys)[0], dnssec.ZSKs(keys)[0]
	specFile := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(specFile, []byte(dnssecSplitSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(node.Config{Dev: true, DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", Spec: specFile, DNSSECKeyDir: dir}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	t.Setenv("DETOUR_API", "http://"+n.APIAddr())
	t.Setenv("DETOUR_TOKEN", "")
	testutil.Eventually(t, "the node signs the zone", 10*time.Second, func() bool {
		code, _ := runDNSSEC("dnssec", "status", "example.test")
		return code == 0
	})
	code, out := runDNSSEC("dnssec", "status", "example.test")
	if code != 0 || !strings.Contains(out, "keys split") || !strings.Contains(out, " ksk ") || !strings.Contains(out, " zsk ") ||
		!strings.Contains(out, "zsk rollover: step 0") || strings.Contains(out, "notice") {
		t.Errorf("status: %d\n%s", code, out)
	}
	for _, args := range [][]string{{"dnssec", "ds", "example.test"}, {"dnssec", "ds", "example.test", "--dir", dir}} {
		if code, out := runDNSSEC(args...); code != 0 || !strings.Contains(out, ksk.DS().String()) || strings.Contains(out, zsk.DS().String()) {
			t.Errorf("%v: want the KSK's DS alone: %d\n%s", args, code, out)
		}
	}
	signedBy(t, n.DNSAddr(), zsk)

	// A ZSK rollover, scheduled in one run.
	roll := []string{"dnssec", "rollover", "example.test", "--dir", dir, "--dnskey-ttl", "1", "--publish-in", "1s", "--propagation", "0s", "--max-zone-ttl", "1"}
	if code, out := runDNSSEC(roll...); code != 0 || !strings.Contains(out, "zsk step 1") {
		t.Fatalf("ZSK rollover start: %d\n%s", code, out)
	}
	if code, out := runDNSSEC(roll...); code != 0 || !strings.Contains(out, "zsk step") || strings.Contains(out, "written") {
		t.Errorf("a second run must say where the rollover stands, not start another: %d\n%s", code, out)
	}
	ring, _ = dnssec.LoadDir(dir)
	var nw *dnssec.Key
	for _, k := range dnssec.ZSKs(ring.Keys("example.test")) {
		if k.Tag() != zsk.Tag() {
			nw = k
		}
	}
	if nw == nil {
		t.Fatal("no new ZSK in the key directory")
	}
	testutil.Eventually(t, "the ZSK rollover ends", 20*time.Second, func() bool {
		st := dnssecStatus(t)
		return st.ZSKRollover != nil && st.ZSKRollover.Step == dnssec.ZSKStepDone && st.Signing
	})
	signedBy(t, n.DNSAddr(), nw)

	// The KSK rolls by double signature; the ZSK is left alone.
	if code, out := runDNSSEC("dnssec", "rollover", "example.test", "--dir", dir, "--dnskey-ttl", "1", "--publish-in", "0s", "--ksk"); code != 0 || !strings.Contains(out, "step 1") {
		t.Fatalf("KSK rollover start: %d\n%s", code, out)
	}
	testutil.Eventually(t, "the node publishes the second KSK", 10*time.Second, func() bool {
		st := dnssecStatus(t)
		return st.Rollover.Kind == dnssec.RoleKSK && st.Rollover.Step >= dnssec.StepWaitKey && st.ZSKRollover.Step == dnssec.ZSKStepDone
	})
	signedBy(t, n.DNSAddr(), nw)
}

// TestKeygenSplitsCSKZone: keygen --keys split on a zone with a CSK adds
// a ZSK that is published first and signs once the DNSKEY TTL and the
// propagation margin have passed.
func TestKeygenSplitsCSKZone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if code, out := runDNSSEC("dnssec", "keygen", "example.test", "--dir", dir); code != 0 {
		t.Fatalf("keygen: %d\n%s", code, out)
	}
	if code, out := runDNSSEC("dnssec", "keygen", "example.test", "--dir", dir, "--keys", "split", "--dnskey-ttl", "60", "--publish-in", "1m", "--propagation", "10m"); code != 0 || !strings.Contains(out, "ZSK") {
		t.Fatalf("keygen --keys split on a CSK zone: %d\n%s", code, out)
	}
	ring, _ := dnssec.LoadDir(dir)
	zsks := dnssec.ZSKs(ring.Keys("example.test"))
	if len(zsks) != 1 || len(ring.Keys("example.test")) != 2 {
		t.Fatalf("keys: %v", ring.Keys("example.test"))
	}
	z := zsks[0].Timing
	if wait := z.Activate.Sub(z.Publish); wait != 11*time.Minute || time.Until(z.Publish) < 50*time.Second {
		t.Errorf("ZSK timing %+v: want published in 1m, signing 11m after", z)
	}
	if code, out := runDNSSEC("dnssec", "keygen", "example.test", "--dir", dir, "--keys", "split"); code == 0 {
		t.Errorf("a third keygen must be refused:\n%s", out)
	}
}
