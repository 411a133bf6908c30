package dnsserver_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

// TestSignedZoneTransferVerifies transfers the signed zone by AXFR,
// before and after a failover, and has BIND's dnssec-verify and Knot's
// kzonecheck accept it: DNSKEY at the apex, an RRSIG on every
// authoritative RRset, a complete NSEC chain. (-z: the CSK has the SEP
// flag and signs everything, as a KSK and a ZSK.)
func TestSignedZoneTransferVerifies(t *testing.T) {
	verify := testutil.Require(t, "dnssec-verify")
	kzonecheck := testutil.Require(t, "kzonecheck")
	for _, alg := range []string{spec.AlgECDSAP256SHA256, spec.AlgED25519} {
		t.Run(alg, func(t *testing.T) {
			l, srv, _ := startSigned(t, alg)
			check := func(want string) uint32 {
				var rrs []dns.RR
				var text strings.Builder
				testutil.Eventually(t, "the AXFR holds "+want, 5*time.Second, func() bool {
					var err error
					if rrs, err = transferFrom(t, srv.Addr(), "127.0.0.1", axfrQuery("example.test."), nil); err != nil {
						t.Fatal(err)
					}
					text.Reset()
					for _, rr := range rrs[:len(rrs)-1] { // the closing SOA
						text.WriteString(rr.String() + "\n")
					}
					return strings.Contains(text.String(), want)
				})
				if !strings.Contains(text.String(), want) || !strings.Contains(text.String(), "\tRRSIG\tA ") || !strings.Contains(text.String(), "\tDNSKEY\t") {
					t.Fatalf("AXFR lacks %s, an RRSIG or the DNSKEY:\n%s", want, text.String())
				}
				file := filepath.Join(t.TempDir(), "example.test.zone")
				if err := os.WriteFile(file, []byte(text.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				if out, err := exec.Command(verify, "-z", "-o", "example.test.", file).CombinedOutput(); err != nil {
					t.Errorf("dnssec-verify: %v\n%s", err, out)
				}
				if out, err := exec.Command(kzonecheck, "--dnssec", "on", "-o", "example.test.", file).CombinedOutput(); err != nil {
					t.Errorf("kzonecheck --dnssec on: %v\n%s", err, out)
				}
				return rrs[0].(*dns.SOA).Serial
			}
			before := check("192.0.2.10")
			if err := l.SetHealth(down{"192.0.2.10": true}); err != nil {
				t.Fatal(err)
			}
			if after := check("198.51.100.10"); after == before {
				t.Errorf("serial %d did not move with the signed answer", after)
			}
		})
	}
}

// TestKnotSecondaryServesSignedZone: Knot DNS as a secondary of the
// signed zone, NOTIFYed and following by IXFR, serves answers unbound
// validates (with the NSEC chain detour transfers, not compact denial),
// before and after a failover.
func TestKnotSecondaryServesSignedZone(t *testing.T) {
	knotPort := testutil.FreePort(t)
	text := strings.Replace(signedSpec(spec.AlgECDSAP256SHA256), "allow_transfer: [127.0.0.0/8]",
		fmt.Sprintf("allow_transfer: [127.0.0.0/8]\n    also_notify: ['127.0.0.1:%d']", knotPort), 1)
	l, srv, key := startSignedSpec(t, text, spec.AlgECDSAP256SHA256)
	knot := testutil.StartKnotSecondary(t, testutil.Secondary{Zone: "example.test.", Primary: srv.Addr(), Port: knotPort})
	waitAnswer(t, knot, "192.0.2.10", 10*time.Second)
	unbound := testutil.StartValidatingUnbound(t, map[string]string{"example.test.": knot}, []string{key.DS().String()})
	for _, q := range []string{"www.example.test A", "nope.example.test A", "www.example.test TXT", "c1.example.test A"} {
		checkAD(t, unbound, q, "", "", true)
	}
	if err := l.SetHealth(down{"192.0.2.10": true}); err != nil {
		t.Fatal(err)
	}
	waitAnswer(t, knot, "198.51.100.10", 10*time.Second)
	testutil.Eventually(t, "unbound sees the failover", 10*time.Second, func() bool {
		return strings.Contains(testutil.Dig(t, unbound, "+dnssec", "www.example.test", "A"), "198.51.100.10")
	})
	checkAD(t, unbound, "www.example.test A", "NOERROR", "198.51.100.10", true)
	if x := srv.Transfers(); x.IXFR < 1 {
		t.Errorf("transfers %+v: want the failover by IXFR", x)
	}
}
