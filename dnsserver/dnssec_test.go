package dnsserver_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/dnssec"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/spec"
)

// signedSpec is a signed zone with every kind of answer DNSSEC must
// prove: a health-driven record, a wildcard, a CNAME chain, an empty
// non-terminal and an insecure delegation.
func signedSpec(alg string) string {
	return `
zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test., negative_ttl: 60}
    nameservers: [ns1.example.test.]
    allow_transfer: [127.0.0.0/8]
    dnssec: {enabled: true, algorithm: ` + alg + `}
    static: |
      ns1      IN A 127.0.0.1
      *.wild   IN A 192.0.2.50
      c1       IN CNAME c2
      c2       IN CNAME www
      x.y.ent  IN TXT "deep"
      mail     IN A 192.0.2.25
      @        IN MX 10 mail
      sub      IN NS ns.sub
      ns.sub   IN A 192.0.2.53
  - name: plain.test
    soa: {mname: ns1.plain.test., rname: hostmaster.plain.test.}
    nameservers: [ns1.plain.test.]
    static: |
      ns1 IN A 127.0.0.1
datacenters: [{name: a}, {name: b}, {name: c}]
pools:
  - {name: east, datacenter: a, endpoints: [{address: 192.0.2.10}]}
  - {name: west, datacenter: b, endpoints: [{address: 198.51.100.10}]}
records:
  - {name: www.example.test, type: A, ttl: 30, pools: [east, west]}
`
}

// startSigned serves signedSpec(alg) signed with a key written to a key
// directory and read back, as a node does, and returns the controller,
// the server's address and the key.
func startSigned(t testing.TB, alg string) (*controller.Local, *dnsserver.Server, *dnssec.Key) {
	t.Helper()
	return startSignedSpec(t, signedSpec(alg), alg)
}

// startSignedSpec is startSigned for any spec signing example.test.
func startSignedSpec(t testing.TB, text, alg string) (*controller.Local, *dnsserver.Server, *dnssec.Key) {
	t.Helper()
	s, err := spec.ParseLocal([]byte(text), ".")
	if err != nil {
		t.Fatal(err)
	}
	l, err := controller.NewLocal(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	k, err := dnssec.Generate("example.test", alg, 3600, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	ring, err := dnssec.LoadDir(dir)
	if err != nil || len(ring.Keys("example.test")) != 1 {
		t.Fatalf("LoadDir: %v, %v", ring, err)
	}
	srv := dnsserver.NewServer(dnsserver.Config{Addr: "127.0.0.1:0", WatchInterval: 10 * time.Millisecond,
		DNSSECKeys: func() dnssec.Keyring { return ring }, PeerAllow: loopback}, l, slog.New(slog.DiscardHandler))
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	return l, srv, ring.Keys("example.test")[0]
}

// ask sends name/type to server with DO set (and CO when co) over TCP.
func ask(t testing.TB, server, name string, qtype uint16, do, co bool) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(1232, do)
	if co {
		m.IsEdns0().SetCo(true)
	}
	r, _, err := (&dns.Client{Net: "udp", Timeout: 2 * time.Second}).Exchange(m, server)
	if err != nil {
		t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r
}

// verifySections checks every RRSIG of r against key, and that every
// authoritative RRset of the answer and authority sections has one.
func verifySections(t *testing.T, r *dns.Msg, key *dns.DNSKEY) {
	t.Helper()
	for _, sec := range [][]dns.RR{r.Answer, r.Ns} {
		sets := map[string][]dns.RR{}
		var sigs []*dns.RRSIG
		for _, rr := range sec {
			if sig, ok := rr.(*dns.RRSIG); ok {
				sigs = append(sigs, sig)
				continue
			}
			k := strings.ToLower(rr.Header().Name) + "/" + dns.TypeToString[rr.Header().Rrtype]
			sets[k] = append(sets[k], rr)
		}
		for k, set := range sets {
			if set[0].Header().Rrtype == dns.TypeNS && !r.Authoritative {
				continue // a referral's NS are the child's
			}
			var sig *dns.RRSIG
			for _, s := range sigs {
				if strings.ToLower(s.Hdr.Name)+"/"+dns.TypeToString[s.TypeCovered] == k {
					sig = s
				}
			}
			if sig == nil {
				t.Errorf("%s: no RRSIG in\n%s", k, r)
				continue
			}
			if err := sig.Verify(key, set); err != nil {
				t.Errorf("%s: RRSIG does not verify: %v", k, err)
			}
			if !sig.ValidityPeriod(time.Now()) {
				t.Errorf("%s: RRSIG not valid now: %s", k, sig)
			}
		}
	}
}

func TestSignedAnswers(t *testing.T) {
	for _, alg := range []string{spec.AlgECDSAP256SHA256, spec.AlgED25519} {
		t.Run(alg, func(t *testing.T) {
			l, srv, key := startSigned(t, alg)
			addr := srv.Addr()
			for _, q := range []struct {
				name  string
				qtype uint16
			}{
				{"www.example.test.", dns.TypeA}, {"example.test.", dns.TypeDNSKEY}, {"example.test.", dns.TypeSOA},
				{"example.test.", dns.TypeMX}, {"c1.example.test.", dns.TypeA}, {"foo.wild.example.test.", dns.TypeA},
				{"nope.example.test.", dns.TypeA}, {"www.example.test.", dns.TypeTXT}, {"ent.example.test.", dns.TypeA},
				{"x.sub.example.test.", dns.TypeA}, {"sub.example.test.", dns.TypeDS}, {"example.test.", dns.TypeCDS},
			} {
				r := ask(t, addr, q.name, q.qtype, true, false)
				if r.Rcode != dns.RcodeSuccess {
					t.Errorf("%s %s: rcode %s, want NOERROR (compact denial)", q.name, dns.TypeToString[q.qtype], dns.RcodeToString[r.Rcode])
				}
				verifySections(t, r, key.DNSKEY)
				if r.Len() > 1232 {
					t.Errorf("%s: %d bytes", q.name, r.Len())
				}
			}
			// NXDOMAIN: compact denial, the NXNAME type; CO brings the
			// rcode back; without DO, plain NXDOMAIN and no RRSIG.
			r := ask(t, addr, "nope.example.test.", dns.TypeA, true, false)
			if !hasNSEC(r, "nope.example.test.", `\000.nope.example.test.`, dns.TypeNXNAME) {
				t.Errorf("NXDOMAIN with DO: no compact NSEC with NXNAME:\n%s", r)
			}
			if r := ask(t, addr, "nope.example.test.", dns.TypeA, true, true); r.Rcode != dns.RcodeNameError || !r.IsEdns0().Co() ||
				!hasNSEC(r, "nope.example.test.", `\000.nope.example.test.`, dns.TypeNXNAME) {
				t.Errorf("with CO: want NXDOMAIN, CO echoed and the compact NSEC:\n%s", r)
			}
			if r := ask(t, addr, "www.example.test.", dns.TypeNXNAME, true, false); r.Rcode != dns.RcodeFormatError {
				t.Errorf("an NXNAME query: rcode %s, want FORMERR (RFC 9824 3.5)", dns.RcodeToString[r.Rcode])
			}
			r = ask(t, addr, "nope.example.test.", dns.TypeA, false, false)
			if r.Rcode != dns.RcodeNameError || countType(r, dns.TypeRRSIG)+countType(r, dns.TypeNSEC) != 0 {
				t.Errorf("without DO: want a plain NXDOMAIN:\n%s", r)
			}
			if r := ask(t, addr, "www.example.test.", dns.TypeA, false, false); countType(r, dns.TypeRRSIG) != 0 {
				t.Errorf("without DO: RRSIG sent:\n%s", r)
			}
			// NODATA: the NSEC lists the types there; an empty
			// non-terminal has none; the delegation has NS, no DS.
			if r := ask(t, addr, "www.example.test.", dns.TypeTXT, true, false); !hasNSEC(r, "www.example.test.", `\000.www.example.test.`, dns.TypeA) {
				t.Errorf("NODATA: no NSEC with A:\n%s", r)
			}
			if r := ask(t, addr, "x.sub.example.test.", dns.TypeA, true, false); !hasNSEC(r, "sub.example.test.", `\000.sub.example.test.`, dns.TypeNS) {
				t.Errorf("referral: no NSEC at the cut:\n%s", r)
			}
			// A failover: the new answer is signed at once.
			if err := l.SetHealth(down{"192.0.2.10": true}); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				r := ask(t, addr, "www.example.test.", dns.TypeA, true, false)
				if a, ok := r.Answer[0].(*dns.A); ok && a.A.String() == "198.51.100.10" {
					verifySections(t, r, key.DNSKEY)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no failover:\n%s", r)
				}
				time.Sleep(10 * time.Millisecond)
			}
			// The unsigned zone beside it stays unsigned.
			if r := ask(t, addr, "plain.test.", dns.TypeSOA, true, false); countType(r, dns.TypeRRSIG) != 0 {
				t.Errorf("plain.test signed:\n%s", r)
			}
		})
	}
}

func hasNSEC(r *dns.Msg, owner, next string, bit uint16) bool {
	for _, rr := range append(append([]dns.RR{}, r.Answer...), r.Ns...) {
		if n, ok := rr.(*dns.NSEC); ok && strings.EqualFold(n.Hdr.Name, owner) && strings.EqualFold(n.NextDomain, next) {
			for _, b := range n.TypeBitMap {
				if b == bit {
					return true
				}
			}
		}
	}
	return false
}

func countType(r *dns.Msg, t uint16) int {
	n := 0
	for _, rr := range append(append(append([]dns.RR{}, r.Answer...), r.Ns...), r.Extra...) {
		if rr.Header().Rrtype == t {
			n++
		}
	}
	return n
}

// TestSignedZoneWithoutKey: a node without a key for a zone the spec
// signs serves it unsigned (as an unsigned zone answers, DO or not) and
// its status says why.
func TestSignedZoneWithoutKey(t *testing.T) {
	s, err := spec.ParseLocal([]byte(signedSpec(spec.AlgECDSAP256SHA256)), ".")
	if err != nil {
		t.Fatal(err)
	}
	l, err := controller.NewLocal(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := dnsserver.NewServer(dnsserver.Config{Addr: "127.0.0.1:0",
		DNSSECKeys: func() dnssec.Keyring { return dnssec.Keyring{} }}, l, slog.New(slog.DiscardHandler))
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	if r := ask(t, srv.Addr(), "www.example.test.", dns.TypeA, true, false); countType(r, dns.TypeRRSIG) != 0 || len(r.Answer) != 1 {
		t.Errorf("without a key: %s", r)
	}
	if r := ask(t, srv.Addr(), "nope.example.test.", dns.TypeA, true, false); r.Rcode != dns.RcodeNameError {
		t.Errorf("without a key: NXDOMAIN wanted, got %s", r)
	}
	st, err := srv.DNSSECStatus("example.test")
	if err != nil || st.Signing || !strings.Contains(st.Problem, "unsigned") {
		t.Errorf("status: %+v, %v", st, err)
	}
	if _, err := srv.DNSSECStatus("plain.test"); !errors.Is(err, dnsserver.ErrNotSigned) {
		t.Errorf("status of an unsigned zone: %v", err)
	}
}
