package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/dnssec"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

const dnssecCLISpec = `
zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    dnssec: {enabled: true, dnskey_ttl: 1}
    static: |
      ns1 IN A 127.0.0.1
      www IN A 192.0.2.10
datacenters: [{name: a}, {name: b}, {name: c}]
`

// runDNSSEC runs the command line and returns its exit code and output.
func runDNSSEC(args ...string) (int, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String() + stderr.String()
}

// TestDNSSECCommands: keygen writes a key a node signs with; status and
// ds show it from the node (never its private part); rollover steps
// through a double-signature rollover, gated on the DNSKEY TTL and on
// the new DS at the parent.
func TestDNSSECCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if code, out := runDNSSEC("dnssec", "keygen", "example.test", "--dir", dir, "--dnskey-ttl", "1"); code != 0 || !strings.Contains(out, "IN\tDS\t") {
		t.Fatalf("keygen: %d\n%s", code, out)
	}
	if code, out := runDNSSEC("dnssec", "keygen", "example.test", "--dir", dir); code == 0 {
		t.Fatalf("a second keygen must be refused (a rollover):\n%s", out)
	}
	specFile := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(specFile, []byte(dnssecCLISpec), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(node.Config{Dev: true, DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", Spec: specFile, DNSSECKeyDir: dir}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	t.Setenv("DETOUR_API", "http://"+n.APIAddr())
	t.Setenv("DETOUR_TOKEN", "")
	ring, err := dnssec.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := ring.Keys("example.test")[0]

	testutil.Eventually(t, "the node serves the zone", 10*time.Second, func() bool {
		code, _ := runDNSSEC("dnssec", "status", "example.test")
		return code == 0
	})
	st := dnssecStatus(t)
	if !st.Signing || len(st.Keys) != 1 || st.Keys[0].Tag != old.Tag() || st.Rollover.Step != dnssec.StepNone {
		t.Fatalf("status: %+v", st)
	}
	code, out := runDNSSEC("dnssec", "status", "example.test")
	if code != 0 || !strings.Contains(out, "signed") || !strings.Contains(out, "next refresh") {
		t.Errorf("status: %d\n%s", code, out)
	}
	privText, _ := os.ReadFile(old.File)
	secret := strings.Fields(strings.Split(string(privText), "PrivateKey:")[1])[0]
	if code, out := runDNSSEC("dnssec", "ds", "example.test"); code != 0 || !strings.Contains(out, old.DS().String()) || strings.Contains(out, secret) {
		t.Errorf("ds: %d\n%s", code, out)
	}
	if _, out := runDNSSEC("dnssec", "status", "example.test", "--json"); strings.Contains(out, secret) {
		t.Error("status shows the private key")
	}
	signedBy(t, n.DNSAddr(), old)

	// Step 1: a new key, signing beside the old one.
	if code, out := runDNSSEC("dnssec", "rollover", "example.test", "--dir", dir, "--dnskey-ttl", "1", "--publish-in", "0s"); code != 0 || !strings.Contains(out, "step 1") {
		t.Fatalf("rollover start: %d\n%s", code, out)
	}
	ring, _ = dnssec.LoadDir(dir)
	var nw *dnssec.Key
	for _, k := range ring.Keys("example.test") {
		if k.Tag() != old.Tag() {
			nw = k
		}
	}
	testutil.Eventually(t, "the node signs with both keys", 10*time.Second, func() bool {
		st := dnssecStatus(t)
		return len(st.Keys) == 2 && (st.Rollover.Step == dnssec.StepWaitKey || st.Rollover.Step == dnssec.StepSubmitDS)
	})
	signedBy(t, n.DNSAddr(), old, nw)
	// Step 2 once the DNSKEY TTL (1s) has passed: the DS goes to the
	// registrar; the parent does not have it yet, and --parent says so.
	testutil.Eventually(t, "the DNSKEY TTL passes", 5*time.Second, func() bool {
		_, out := runDNSSEC("dnssec", "rollover", "example.test", "--dir", dir, "--dnskey-ttl", "1")
		return strings.Contains(out, "step 2")
	})
	parent := parentServer(t, "")
	if code, out := runDNSSEC("dnssec", "rollover", "example.test", "--dir", dir, "--dnskey-ttl", "1", "--parent", parent); code == 0 || !strings.Contains(out, "does not answer the DS") {
		t.Fatalf("rollover without the DS at the parent: %d\n%s", code, out)
	}
	// Step 3: the new DS is at the parent (TTL 2s): the old key leaves
	// 2s later.
	parent = parentServer(t, nw.DS().String())
	if code, out := runDNSSEC("dnssec", "rollover", "example.test", "--dir", dir, "--dnskey-ttl", "1", "--parent", parent); code != 0 || !strings.Contains(out, "step 3") {
		t.Fatalf("rollover with the DS at the parent: %d\n%s", code, out)
	}
	testutil.Eventually(t, "the old key leaves", 15*time.Second, func() bool {
		st := dnssecStatus(t)
		return st.Rollover.Step == dnssec.StepDone && st.Signing
	})
	signedBy(t, n.DNSAddr(), nw)
}

func dnssecStatus(t *testing.T) dnsserver.DNSSECStatus {
	t.Helper()
	code, out := runDNSSEC("dnssec", "status", "example.test", "--json")
	var st dnsserver.DNSSECStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %d %v\n%s", code, err, out)
	}
	return st
}

// signedBy waits until server answers www.example.test A with DO with
// an RRSIG by each of keys, and no other, that verifies.
func signedBy(t *testing.T, server string, keys ...*dnssec.Key) {
	t.Helper()
	last := ""
	testutil.Eventually(t, "answers signed by the keys", 5*time.Second, func() bool {
		m := new(dns.Msg)
		m.SetQuestion("www.example.test.", dns.TypeA)
		m.SetEdns0(1232, true)
		r, err := dns.Exchange(m, server)
		if err != nil {
			last = err.Error()
			return false
		}
		last = r.String()
		good := 0
		for _, rr := range r.Answer {
			s, ok := rr.(*dns.RRSIG)
			if !ok {
				continue
			}
			for _, k := range keys {
				if s.KeyTag == k.Tag() && s.Verify(k.DNSKEY, r.Answer[:1]) == nil {
					good++
				}
			}
		}
		return good == len(keys) && len(r.Answer) == 1+len(keys)
	})
	if t.Failed() {
		t.Log(last)
	}
}

// parentServer serves the parent zone test. with example.test's
// delegation and, when ds is set, that DS (TTL 2s).
func parentServer(t *testing.T, ds string) string {
	t.Helper()
	static := "ns1 IN A 127.0.0.1\n      example IN NS ns1.example.test.\n"
	if ds != "" {
		f := strings.Fields(ds)
		static += "      example 2 IN DS " + strings.Join(f[4:], " ") + "\n"
	}
	text := "zones:\n  - name: test\n    soa: {mname: ns1.test., rname: hostmaster.test.}\n    nameservers: [ns1.test.]\n    static: |\n      " +
		static + "datacenters: [{name: a}, {name: b}, {name: c}]\n"
	s, err := spec.ParseLocal([]byte(text), ".")
	if err != nil {
		t.Fatal(err)
	}
	l, err := controller.NewLocal(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := dnsserver.NewServer(dnsserver.Config{Addr: "127.0.0.1:0"}, l, slog.New(slog.DiscardHandler))
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return srv.Addr()
}
