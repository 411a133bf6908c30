package dnsserver_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

// childSpec is the insecure child zone of signedSpec's delegation,
// served by a second detour unsigned.
const childSpec = `
zones:
  - name: sub.example.test
    soa: {mname: ns.sub.example.test., rname: hostmaster.example.test.}
    nameservers: [ns.sub.example.test.]
    static: |
      ns IN A 192.0.2.53
      x  IN A 192.0.2.54
datacenters: [{name: a}, {name: b}, {name: c}]
`

var digFlags = regexp.MustCompile(`;; flags: ([a-z ]+);`)
var digStatus = regexp.MustCompile(`status: ([A-Z]+)`)

// TestUnboundValidates has unbound, with the zone's DS as its trust
// anchor and detour as stub, validate every kind of answer: AD on a
// health-driven record before and after a failover, compact denial of
// NXDOMAIN and NODATA, a wildcard, a CNAME chain, an empty non-terminal;
// and a delegation proven insecure (an answer, without AD).
func TestUnboundValidates(t *testing.T) {
	for _, alg := range []string{spec.AlgECDSAP256SHA256, spec.AlgED25519} {
		t.Run(alg, func(t *testing.T) {
			l, srv, key := startSigned(t, alg)
			_, child := startDetour(t, childSpec)
			unbound := testutil.StartValidatingUnbound(t,
				map[string]string{"example.test.": srv.Addr(), "sub.example.test.": child},
				[]string{key.DS().String()})
			for _, c := range []struct{ q, status, answer string }{
				{"www.example.test A", "NOERROR", "192.0.2.10"},
				{"example.test DNSKEY", "NOERROR", "DNSKEY"},
				{"example.test MX", "NOERROR", "mail.example.test"},
				{"c1.example.test A", "NOERROR", "192.0.2.10"},
				{"foo.wild.example.test A", "NOERROR", "192.0.2.50"},
				{"nope.example.test A", "", ""},
				{"www.example.test TXT", "NOERROR", ""},
				{"ent.example.test A", "NOERROR", ""},
				{"sub.example.test DS", "NOERROR", ""},
			} {
				checkAD(t, unbound, c.q, c.status, c.answer, true)
			}
			// The delegation is insecure: answered, not validated.
			checkAD(t, unbound, "x.sub.example.test A", "NOERROR", "192.0.2.54", false)
			if err := l.SetHealth(down{"192.0.2.10": true}); err != nil {
				t.Fatal(err)
			}
			testutil.Eventually(t, "failover seen through unbound", 10*time.Second, func() bool {
				return strings.Contains(testutil.Dig(t, unbound, "+dnssec", "www.example.test", "A"), "198.51.100.10")
			})
			checkAD(t, unbound, "www.example.test A", "NOERROR", "198.51.100.10", true)
			checkAD(t, unbound, "c1.example.test A", "NOERROR", "198.51.100.10", true)
		})
	}
}

// checkAD asks unbound q ("name type") with DO and wants status (any
// when empty), answer in the output, and AD set when ad.
func checkAD(t *testing.T, unbound, q, status, answer string, ad bool) {
	t.Helper()
	out := testutil.Dig(t, unbound, append([]string{"+dnssec"}, strings.Fields(q)...)...)
	flags, st := digFlags.FindStringSubmatch(out), digStatus.FindStringSubmatch(out)
	if flags == nil || st == nil {
		t.Errorf("%s: no flags in\n%s", q, out)
		return
	}
	if st[1] == "SERVFAIL" || (status != "" && st[1] != status) {
		t.Errorf("%s: status %s, want %s\n%s", q, st[1], status, out)
	}
	if strings.Contains(" "+flags[1]+" ", " ad ") != ad {
		t.Errorf("%s: flags %q, want AD %v\n%s", q, flags[1], ad, out)
	}
	if answer != "" && !strings.Contains(out, answer) {
		t.Errorf("%s: no %q in\n%s", q, answer, out)
	}
}

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }
