package dnsserver_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/dnssec"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

// dsSpec serves example.test, signed, delegating sub2 (NS and DS) and
// nodsub (NS, no DS), and the two children themselves, unsigned: a
// parent and its children on the same servers; and ext (NS and DS), a
// child served elsewhere.
const dsSpec = `
zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    dnssec: {enabled: true, algorithm: ecdsap256sha256}
    static: |
      ns1 IN A 127.0.0.1
      sub2 IN NS ns1.example.test.
      sub2 IN DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      nodsub IN NS ns1.example.test.
      ext IN NS ns.elsewhere.test.
      ext IN DS 54321 13 2 fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210
  - name: sub2.example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: |
      www IN A 192.0.2.20
  - name: nodsub.example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: |
      www IN A 192.0.2.21
datacenters: [{name: a}, {name: b}, {name: c}]
`

// TestDSAtChildApexFromParent: when a zone and its parent are both
// served here, DS at the child's apex is the parent's answer (RFC 4035
// 3.1.4.1): its DS RRset, signed with the parent's key for a DO query,
// or its NODATA (the parent's SOA and denial) where it has none. Before,
// the child answered NODATA from its own apex, and a validating
// resolver asking the parent's servers for the DS found none; and a DS
// RRset at any delegation point went out without its RRSIG.
func TestDSAtChildApexFromParent(t *testing.T) {
	_, srv, key := startSignedSpec(t, dsSpec, "ecdsap256sha256")
	for _, do := range []bool{false, true} {
		for _, c := range []struct {
			name string
			tag  uint16
		}{{"SuB2.example.test.", 12345}, {"ext.example.test.", 54321}} {
			r := ask(t, srv.Addr(), c.name, dns.TypeDS, do, false)
			var ds []dns.RR
			signer := ""
			for _, rr := range r.Answer {
				switch v := rr.(type) {
				case *dns.DS:
					ds = append(ds, v)
				case *dns.RRSIG:
					signer = v.SignerName
				}
			}
			if r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(ds) != 1 || ds[0].(*dns.DS).KeyTag != c.tag {
				t.Fatalf("DS %s (DO %v): want the parent's DS RRset, got\n%v", c.name, do, r)
			}
			if do {
				if signer != "example.test." {
					t.Errorf("DS %s with DO: signed by %q, want the parent example.test.:\n%v", c.name, signer, r)
				}
				verifySections(t, r, key.DNSKEY)
			}
		}

		r := ask(t, srv.Addr(), "nodsub.example.test.", dns.TypeDS, do, false)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) == 0 || !strings.EqualFold(r.Ns[0].Header().Name, "example.test.") {
			t.Errorf("DS nodsub.example.test. (DO %v): want NODATA from the parent (its SOA), got\n%v", do, r)
		}
		if do {
			verifySections(t, r, key.DNSKEY)
		}
	}
	// Everything else at the child's apex is the child's.
	for _, qt := range []uint16{dns.TypeSOA, dns.TypeNS, dns.TypeA} {
		r := ask(t, srv.Addr(), "sub2.example.test.", qt, false, false)
		owner := ""
		if len(r.Answer) > 0 {
			owner = r.Answer[0].Header().Name
		} else if len(r.Ns) > 0 {
			owner = r.Ns[0].Header().Name
		}
		if !r.Authoritative || owner != "sub2.example.test." {
			t.Errorf("%s sub2.example.test.: want the child's answer, got\n%v", dns.TypeToString[qt], r)
		}
	}
	// A child served alone answers DS at its apex itself, as before.
	r := ask(t, srv.Addr(), "www.sub2.example.test.", dns.TypeDS, false, false)
	if r.Rcode != dns.RcodeSuccess || len(r.Ns) == 0 || r.Ns[0].Header().Name != "sub2.example.test." {
		t.Errorf("DS www.sub2.example.test.: want NODATA from the child, got\n%v", r)
	}
}

// TestUnboundValidatesSecureChild: a signed parent and its signed child
// on the same detour, the parent holding the child's DS. A validating
// unbound, trusting only the parent's key, proves the chain down to the
// child's records (AD): the DS comes from the parent, signed by it.
// Before, the child answered the DS query itself (NODATA), and a DS at
// a delegation point went out unsigned: the child was bogus (SERVFAIL).
func TestUnboundValidatesSecureChild(t *testing.T) {
	dir := t.TempDir()
	var keys []*dnssec.Key
	for _, zone := range []string{"example.test", "sec.example.test"} {
		k, err := dnssec.Generate(zone, spec.AlgECDSAP256SHA256, 3600, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.WriteFiles(dir); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	ring, err := dnssec.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	text := `
zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    dnssec: {enabled: true, algorithm: ecdsap256sha256}
    static: |
      ns1 IN A 127.0.0.1
      sec IN NS ns1.example.test.
      ` + keys[1].DS().String() + `
  - name: sec.example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    dnssec: {enabled: true, algorithm: ecdsap256sha256}
    static: |
      x IN A 192.0.2.60
datacenters: [{name: a}, {name: b}, {name: c}]
`
	s, err := spec.ParseLocal([]byte(text), ".")
	if err != nil {
		t.Fatal(err)
	}
	l, err := controller.NewLocal(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := dnsserver.NewServer(dnsserver.Config{Addr: "127.0.0.1:0", DNSSECKeys: func() dnssec.Keyring { return ring }, PeerAllow: loopback},
		l, slog.New(slog.DiscardHandler))
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	unbound := testutil.StartValidatingUnbound(t,
		map[string]string{"example.test.": srv.Addr(), "sec.example.test.": srv.Addr()},
		[]string{keys[0].DS().String()})
	checkAD(t, unbound, "sec.example.test DS", "NOERROR", "DS", true)
	checkAD(t, unbound, "x.sec.example.test A", "NOERROR", "192.0.2.60", true)
	checkAD(t, unbound, "nope.sec.example.test A", "", "", true)
}

// TestReferralToSecureDelegationCarriesDS: with DO, a referral to a
// delegation that has a DS carries the DS RRset and its RRSIG (RFC 4035
// 3.1.4) instead of an NSEC that would deny it (TestUnboundValidates
// checks the NSEC of a referral to an insecure delegation).
func TestReferralToSecureDelegationCarriesDS(t *testing.T) {
	_, srv, key := startSignedSpec(t, dsSpec, "ecdsap256sha256")
	r := ask(t, srv.Addr(), "www.ext.example.test.", dns.TypeA, true, false)
	var ns, ds, sig, nsec int
	for _, rr := range r.Ns {
		switch v := rr.(type) {
		case *dns.NS:
			ns++
		case *dns.DS:
			ds++
		case *dns.RRSIG:
			if v.TypeCovered == dns.TypeDS {
				sig++
			}
		case *dns.NSEC:
			nsec++
		}
	}
	if r.Authoritative || ns == 0 || ds != 1 || sig == 0 || nsec != 0 {
		t.Errorf("referral to ext.example.test. with DO: want NS, the DS and its RRSIG, no NSEC, AA clear; got\n%v", r)
	}
	verifySections(t, r, key.DNSKEY)
}
