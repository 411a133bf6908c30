package dnsserver_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/dnssec"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

// TestDNSVizFindsNoErrors probes the signed zone with DNSViz, with its DS
// given as the delegation's, and wants grok to report no error and no
// warning, before and after a failover.
func TestDNSVizFindsNoErrors(t *testing.T) {
	dnsviz := testutil.Require(t, "dnsviz")
	l, srv, key := startSigned(t, spec.AlgECDSAP256SHA256)
	grok := func(step string) { dnsvizGrok(t, dnsviz, srv.Addr(), key, step) }
	grok("before")
	if err := l.SetHealth(down{"192.0.2.10": true}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "failover", 5*time.Second, func() bool {
		r := ask(t, srv.Addr(), "www.example.test.", dns.TypeA, true, false)
		return len(r.Answer) > 0 && strings.Contains(r.Answer[0].String(), "198.51.100.10")
	})
	grok("after")
}

// dnsvizGrok probes example.test on addr with DNSViz, with key's DS
// given as the delegation's, and wants grok to report no error and no
// warning.
func dnsvizGrok(t *testing.T, dnsviz, addr string, key *dnssec.Key, step string) {
	t.Helper()
	ds := strings.Join(strings.Fields(key.DS().String())[4:], " ")
	probe := exec.Command(dnsviz, "probe", "-A", "-a", "example.test",
		"-x", "example.test:ns1.example.test="+addr, "-N", "example.test:ns1.example.test="+addr,
		"-D", "example.test:"+ds, "example.test", "www.example.test", "nope.example.test")
	var out, errOut bytes.Buffer
	probe.Stdout, probe.Stderr = &out, &errOut
	if err := probe.Run(); err != nil {
		t.Fatalf("%s: dnsviz probe: %v\n%s", step, err, errOut.String())
	}
	g := exec.Command(dnsviz, "grok", "-l", "warning")
	g.Stdin = bytes.NewReader(out.Bytes())
	res, err := g.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: dnsviz grok: %v\n%s", step, err, res)
	}
	// grok prints the names with something at the level asked
	// (warning or error), nothing when there is none.
	if len(bytes.TrimSpace(res)) != 0 {
		var doc map[string]any
		_ = json.Unmarshal(res, &doc)
		t.Errorf("%s: DNSViz reports %d names with warnings or errors:\n%s", step, len(doc), res)
	}
}
