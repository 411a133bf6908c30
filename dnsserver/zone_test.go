package dnsserver

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// zoneCase is one in-process table test, CoreDNS style: zone text in, a
// question, the reply's rcode and sections (as sets) out.
type zoneCase struct {
	qname  string
	qtype  uint16
	rcode  int
	answer []string
	ns     []string
	extra  []string
}

// zoneTestSpec serves static text in example.test with ttl 3600.
func zoneTestSpec(static string) string {
	return `
zones:
  - name: example.test
    ttl: 3600
    soa: {mname: ns1.example.test., rname: hostmaster.example.test., negative_ttl: 60}
    nameservers: [ns1.example.test.]
    static: |
      ` + strings.ReplaceAll(strings.TrimSpace(static), "\n", "\n      ") + `
datacenters: [{name: a}, {name: b}, {name: c}]
`
}

const zoneTestSOA = "example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 1700000000 3600 600 1209600 60"

// runZoneCases asks each question of a handler serving static, over the
// fast path where the answer is packed and the slow path otherwise, and
// compares the whole reply.
func runZoneCases(t *testing.T, static string, cases []zoneCase) {
	t.Helper()
	snap := buildSnapshot(t, zoneTestSpec(static), nil, nil, time.Unix(1700000000, 0))
	h := NewHandler(fixed{snap}, Options{})
	for _, c := range cases {
		t.Run(c.qname+"_"+dns.TypeToString[c.qtype], func(t *testing.T) {
			msg := makeQuery(t, c.qname, c.qtype, false)
			r := serve(t, h, msg)
			var q query
			_, _ = parseQuery(msg, make([]byte, 0, 256), &q)
			if fast, slow := string(h.Serve(msg, NewScratch(1), false)), string(h.slow(snap, msg, &q, NewScratch(1), udpLimit(&q, DefaultMaxUDPSize))); fast != slow {
				t.Errorf("the fast and slow paths answer differently")
			}
			if r.Rcode != c.rcode {
				t.Errorf("rcode = %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[c.rcode])
			}
			for _, s := range []struct {
				name      string
				got, want []string
			}{{"answer", rrStrings(r.Answer), c.answer}, {"authority", rrStrings(r.Ns), c.ns}, {"additional", rrStrings(r.Extra), c.extra}} {
				want := slices.Sorted(slices.Values(s.want))
				if !slices.Equal(s.got, want) {
					t.Errorf("%s:\n got  %q\n want %q", s.name, s.got, want)
				}
			}
		})
	}
}

// rrStrings renders records one a line with single spaces, sorted.
func rrStrings(rrs []dns.RR) []string {
	out := []string{}
	for _, rr := range rrs {
		out = append(out, strings.Join(strings.Fields(rr.String()), " "))
	}
	slices.Sort(out)
	return out
}

// TestZoneTTLServed: the zone's ttl is $TTL, so a record without a TTL
// after one with an explicit TTL is served with the zone's (issue 12
// item 1: "@ TXT" came out with the MX's 300).
func TestZoneTTLServed(t *testing.T) {
	runZoneCases(t, `
ns1 IN A 127.0.0.1
@ 300 IN MX 10 mail
@ IN TXT "v=spf1 -all"
www A 192.0.2.1
x 60 A 192.0.2.2
www A 192.0.2.3
mixed 60 A 192.0.2.4
mixed 300 A 192.0.2.5
$TTL 120
late A 192.0.2.6
`, []zoneCase{
		{qname: "example.test.", qtype: dns.TypeTXT, answer: []string{`example.test. 3600 IN TXT "v=spf1 -all"`}},
		{qname: "www.example.test.", qtype: dns.TypeA, answer: []string{"www.example.test. 3600 IN A 192.0.2.1", "www.example.test. 3600 IN A 192.0.2.3"}},
		{qname: "x.example.test.", qtype: dns.TypeA, answer: []string{"x.example.test. 60 IN A 192.0.2.2"}},
		{qname: "mixed.example.test.", qtype: dns.TypeA, answer: []string{"mixed.example.test. 300 IN A 192.0.2.4", "mixed.example.test. 300 IN A 192.0.2.5"}},
		{qname: "late.example.test.", qtype: dns.TypeA, answer: []string{"late.example.test. 120 IN A 192.0.2.6"}},
	})
}

// TestDNAME: names below a DNAME are answered with the DNAME and a
// synthesised CNAME, followed inside the zone (RFC 6672 section 3.2;
// issue 12 item 2: they got NXDOMAIN).
func TestDNAME(t *testing.T) {
	long := strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60)
	runZoneCases(t, `
ns1 IN A 127.0.0.1
dname 300 IN DNAME target.example.test.
dname IN TXT "beside"
a.target IN A 192.0.2.5
c.target IN CNAME a.target
ext IN DNAME other.test.
long IN DNAME `+long+`.example.test.
d1 IN DNAME d2.example.test.
d2 IN DNAME d1.example.test.
grow IN DNAME x.grow2.example.test.
grow2 IN DNAME grow.example.test.
`, []zoneCase{
		{qname: "a.dname.example.test.", qtype: dns.TypeA, answer: []string{
			"dname.example.test. 300 IN DNAME target.example.test.",
			"a.dname.example.test. 300 IN CNAME a.target.example.test.",
			"a.target.example.test. 3600 IN A 192.0.2.5"}},
		{qname: "c.dname.example.test.", qtype: dns.TypeA, answer: []string{
			"dname.example.test. 300 IN DNAME target.example.test.",
			"c.dname.example.test. 300 IN CNAME c.target.example.test.",
			"c.target.example.test. 3600 IN CNAME a.target.example.test.",
			"a.target.example.test. 3600 IN A 192.0.2.5"}},
		{qname: "c.dname.example.test.", qtype: dns.TypeCNAME, answer: []string{
			"dname.example.test. 300 IN DNAME target.example.test.",
			"c.dname.example.test. 300 IN CNAME c.target.example.test."}},
		{qname: "y.dname.example.test.", qtype: dns.TypeA, rcode: dns.RcodeNameError, answer: []string{
			"dname.example.test. 300 IN DNAME target.example.test.",
			"y.dname.example.test. 300 IN CNAME y.target.example.test."}, ns: []string{zoneTestSOA}},
		{qname: "a.dname.example.test.", qtype: dns.TypeDNAME, answer: []string{
			"dname.example.test. 300 IN DNAME target.example.test.",
			"a.dname.example.test. 300 IN CNAME a.target.example.test."}, ns: []string{zoneTestSOA}},
		{qname: "dname.example.test.", qtype: dns.TypeDNAME, answer: []string{"dname.example.test. 300 IN DNAME target.example.test."}},
		{qname: "dname.example.test.", qtype: dns.TypeTXT, answer: []string{`dname.example.test. 3600 IN TXT "beside"`}},
		{qname: "dname.example.test.", qtype: dns.TypeA, ns: []string{zoneTestSOA}},
		{qname: "foo.ext.example.test.", qtype: dns.TypeA, answer: []string{
			"ext.example.test. 3600 IN DNAME other.test.",
			"foo.ext.example.test. 3600 IN CNAME foo.other.test."}},
		{qname: long + ".long.example.test.", qtype: dns.TypeA, rcode: dns.RcodeYXDomain, answer: []string{
			"long.example.test. 3600 IN DNAME " + long + ".example.test."}},
		{qname: "x.d1.example.test.", qtype: dns.TypeA, answer: []string{
			"d1.example.test. 3600 IN DNAME d2.example.test.",
			"x.d1.example.test. 3600 IN CNAME x.d2.example.test.",
			"d2.example.test. 3600 IN DNAME d1.example.test.",
			"x.d2.example.test. 3600 IN CNAME x.d1.example.test."}},
	})
}

// TestDNAMEGrowthIsBounded: a pair of DNAMEs that lengthen the name each
// turn ends in YXDOMAIN or the chain bound, never runs on.
func TestDNAMEGrowthIsBounded(t *testing.T) {
	snap := buildSnapshot(t, zoneTestSpec(`
ns1 IN A 127.0.0.1
grow IN DNAME x.grow2.example.test.
grow2 IN DNAME grow.example.test.
`), nil, nil, time.Unix(1700000000, 0))
	r := snap.Lookup("a.grow.example.test.", dns.TypeA)
	if len(r.Answer) > 2*maxChain {
		t.Fatalf("%d answer records, want at most %d", len(r.Answer), 2*maxChain)
	}
	if len(r.Answer) < 4 {
		t.Fatalf("answer %v, want the chain followed", r.Answer)
	}
}

// TestWildcardTargetAddresses: MX and SRV targets that exist only through
// a wildcard get their A and AAAA in the additional section, as Knot DNS
// gives them (issue 12 item 6).
func TestWildcardTargetAddresses(t *testing.T) {
	runZoneCases(t, `
ns1 IN A 127.0.0.1
mx IN MX 10 foo.wild
mx IN MX 20 bar.wild
mx IN MX 30 mail
mail IN A 192.0.2.25
srv IN SRV 0 0 5060 baz.wild
*.wild IN A 192.0.2.77
*.wild IN AAAA 2001:db8::77
sub IN NS ns.sub
*.sub IN A 192.0.2.99
cut IN MX 10 x.sub
`, []zoneCase{
		{qname: "mx.example.test.", qtype: dns.TypeMX, answer: []string{
			"mx.example.test. 3600 IN MX 10 foo.wild.example.test.",
			"mx.example.test. 3600 IN MX 20 bar.wild.example.test.",
			"mx.example.test. 3600 IN MX 30 mail.example.test."}, extra: []string{
			"foo.wild.example.test. 3600 IN A 192.0.2.77",
			"foo.wild.example.test. 3600 IN AAAA 2001:db8::77",
			"bar.wild.example.test. 3600 IN A 192.0.2.77",
			"bar.wild.example.test. 3600 IN AAAA 2001:db8::77",
			"mail.example.test. 3600 IN A 192.0.2.25"}},
		{qname: "srv.example.test.", qtype: dns.TypeSRV, answer: []string{
			"srv.example.test. 3600 IN SRV 0 0 5060 baz.wild.example.test."}, extra: []string{
			"baz.wild.example.test. 3600 IN A 192.0.2.77",
			"baz.wild.example.test. 3600 IN AAAA 2001:db8::77"}},
		// Below a delegation the child answers: no synthesis.
		{qname: "cut.example.test.", qtype: dns.TypeMX, answer: []string{
			"cut.example.test. 3600 IN MX 10 x.sub.example.test."}},
	})
}
