package dnsserver_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
	"log/slog"
)

// interopSpec serves testdata/interop.zone plus two health-driven records;
// Knot gets the same zone with those records as static data.
const interopSpec = `
zones:
  - name: example.test
    file: testdata/interop.zone
  - name: ttl.test
    ttl: 900
    static: |
      @ IN SOA ns1.ttl.test. hostmaster.ttl.test. 1 3600 600 1209600 60
      @ IN NS ns1
      ns1 IN A 127.0.0.1
      @ 300 IN MX 10 mail
      @ IN TXT "v=spf1 -all"
      mail IN A 192.0.2.25
      www IN A 192.0.2.1
      x 60 IN A 192.0.2.2
      www IN A 192.0.2.3
      mixed 60 IN A 192.0.2.4
      mixed 300 IN A 192.0.2.5
      $TTL 120
      late IN A 192.0.2.6
datacenters: [{name: a}, {name: b}, {name: c}]
pools:
  - name: web
    datacenter: a
    endpoints: [{address: 192.0.2.10}]
  - name: alias
    datacenter: b
    endpoints: [{address: www.example.test}]
records:
  - name: www.example.test
    type: A
    ttl: 30
    pools: [web]
  - name: api.example.test
    type: CNAME
    ttl: 30
    pools: [alias]
`

// interopTTLZone is the ttl.test zone of interopSpec as Knot gets it:
// the zone's ttl as a $TTL line before its static text.
func interopTTLZone(t *testing.T) string {
	t.Helper()
	s, err := spec.ParseLocal([]byte(interopSpec), ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, z := range s.Zones {
		if z.Name == "ttl.test." {
			return fmt.Sprintf("$ORIGIN ttl.test.\n$TTL %d\n%s", z.TTL, z.Static)
		}
	}
	t.Fatal("interopSpec has no zone ttl.test")
	return ""
}

const interopDynamicAsStatic = `
www 30 IN A 192.0.2.10
api 30 IN CNAME www
`

// startDetour serves a spec with a fresh controller and DNS server.
func startDetour(t *testing.T, specText string) (*controller.Local, string) {
	t.Helper()
	s, err := spec.ParseLocal([]byte(specText), ".")
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
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	return l, srv.Addr()
}

// TestInteropWithKnot asks Knot DNS and detour the same questions with dig
// and requires the same rcode, flags and sections.
func TestInteropWithKnot(t *testing.T) {
	zone, err := os.ReadFile("testdata/interop.zone")
	if err != nil {
		t.Fatal(err)
	}
	knot := testutil.StartKnot(t, map[string]string{"example.test.": string(zone) + interopDynamicAsStatic, "ttl.test.": interopTTLZone(t)})
	_, detour := startDetour(t, interopSpec)

	names := []string{
		"www A", "www AAAA", "WwW.ExAmPle.TeSt A", "api A", "api CNAME", "api ANY",
		"docs A", "docs AAAA", "docs CNAME", "docs ANY", "ext A", "c1 A", "c1 AAAA",
		"loop1 A", "foo.apps A", "foo.apps TXT", "a.b.apps A", "apps A", "xx.apps ANY",
		"deep A", "y.deep A", "x.y.deep A", "nope A", "nope.deep A",
		"sub A", "x.sub MX", "ns.sub A", "sub DS", "sub NS", "cdeleg A",
		"@ SOA", "@ NS", "@ MX", "@ TXT", "@ ANY", "@ A", "@ TYPE65534", "ns2 ANY",
		"_sip._tcp SRV", "big TXT", "many A", "mail A", "multi MX",
		"dangle A", "dangle ANY", "cwild A", "cwild TXT", "x.w A", "x.w AAAA", "x.y.w A", "w A",
		"mxcut MX", "capex A", "capex MX", "y A", "ent.y A", "zz.ent.y A",
		"foo.wc A", "sub.wc A", "x.sub.wc A",
		"a.dname A", "c.dname A", "c.dname CNAME", "y.dname A", "a.dname DNAME", "a.dname ANY",
		"dname DNAME", "dname TXT", "dname A", "dname ANY", "foo.dext A", "cdname A",
		"wmx MX", "wsrv SRV",
	}
	variants := []string{"", "+noedns", "+tcp", "+tcp +noedns", "+bufsize=512 +ignore", "+noedns +ignore", "+dnssec +rec +cd"}
	for _, q := range names {
		f := strings.Fields(q)
		name := f[0] + ".example.test."
		if f[0] == "@" {
			name = "example.test."
		}
		for _, v := range variants {
			args := append([]string{"+norec", name, f[1]}, strings.Fields(v)...)
			t.Run(strings.Join(append([]string{f[0], f[1]}, strings.Fields(v)...), "_"), func(t *testing.T) {
				compare(t, knot, detour, args)
			})
		}
	}
	others := [][]string{
		{"www.example.test", "A", "+opcode=1"},
		{"www.example.test", "A", "+opcode=2"},
		{"www.example.test", "A", "+edns=1", "+noednsneg"},
		{"www.example.test", "A", "CH"},
		{"www.other.test", "A"},
		{"www.other.test", "A", "+noedns"},
		{".", "SOA"},
		{"test", "A"},
		{"x.example.test", "A", "+ednsopt=10:0011223344556677"},
		{"www.example.test", "A", "+bufsize=4096"},
		{"many.example.test", "A", "+bufsize=600"},
		{"big.example.test", "TXT", "+bufsize=65535"},
		{"ttl.test", "TXT"},
		{"ttl.test", "MX"},
		{"ttl.test", "SOA"},
		{"ttl.test", "NS"},
		{"www.ttl.test", "A"},
		{"x.ttl.test", "A"},
		{"mixed.ttl.test", "A"},
		{"late.ttl.test", "A"},
		{"nope.ttl.test", "A"},
		// Optional additional records give way before TC is set
		// (RFC 2181 9); glue of an in-domain delegation does not
		// (RFC 9471).
		{"manymx.example.test", "MX", "+noedns"},
		{"manymx.example.test", "MX", "+bufsize=512"},
		{"manymx.example.test", "MX", "+noedns", "+tcp"},
		{"x.bigdeleg.example.test", "A", "+noedns"},
		{"x.bigdeleg.example.test", "A", "+bufsize=512"},
		{"x.sibdeleg.example.test", "A", "+noedns"},
		// Every reply to an EDNS query carries OPT (RFC 6891 6.1.1):
		// no question, transfers refused over TCP and over UDP.
		{"example.test", "A", "+header-only"},
		{"example.test", "A", "+header-only", "+noedns"},
		{"example.test", "AXFR"},
		{"example.test", "AXFR", "+noedns"},
		{"example.test", "IXFR=1"},
		// IXFR over UDP is a transfer too: refused like one. dig
		// prints only an IXFR's records, so this shows that neither
		// sends the SOA to a client they refuse; TestReplyTable
		// checks the rcode (NOTAUTH, as kdig shows Knot sending).
		{"example.test", "IXFR=1", "+notcp"},
		{"example.test", "IXFR=1", "+notcp", "+noedns"},
		{"other.test", "IXFR=1", "+notcp"},
	}
	for _, args := range others {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			compare(t, knot, detour, append([]string{"+norec"}, args...))
		})
	}
}

// compare runs dig with args against both servers, without a DNS COOKIE:
// detour answers cookies and this Knot, without mod-cookies, ignores them,
// so the replies would differ by the 28 bytes of the option (and so where
// they truncate). TestCookieWithDig covers detour's cookies.
func compare(t *testing.T, knot, detour string, args []string) {
	t.Helper()
	args = append(slices.Clone(args), "+nocookie")
	want := normalise(digReply(t, knot, args))
	got := normalise(testutil.Dig(t, detour, args...))
	if want != got {
		t.Errorf("dig %s\n--- knot\n%s\n--- detour\n%s", strings.Join(args, " "), want, got)
	}
}

// digReply asks the peer, asking again (at most twice more) when dig
// printed something that is not a reply: under load, dig once printed a
// header without the QR flag and no answer for Knot, which is dig giving
// up, not Knot answering. detour's side is never retried.
func digReply(t *testing.T, addr string, args []string) string {
	t.Helper()
	var out string
	for range 3 {
		if out = testutil.Dig(t, addr, args...); strings.Contains(out, "flags: qr") {
			break
		}
	}
	return out
}

var (
	digNoise = regexp.MustCompile(`^(;; Query time|;; SERVER|;; WHEN|;; MSG SIZE|; <<>>|;; global options|;; Got answer|;; Warning|;; BADVERS)|COOKIE|NSID|WARNING`)
	digID    = regexp.MustCompile(`, id: \d+`)
	digCount = regexp.MustCompile(`; QUERY: .*$`)
)

// normalise keeps what must match in dig output: header status and flags,
// the OPT pseudo-section, and each section's records as a sorted set, with
// SOA serials blanked (each server numbers its own) and names lower-cased.
// Counts are left out because detour suppresses duplicate additional
// records (RFC 2181 5.5) where Knot repeats them; the sets still compare.
func normalise(out string) string {
	var b strings.Builder
	var section []string
	flush := func() {
		sort.Strings(section)
		prev := ""
		for _, l := range section {
			if l != prev {
				b.WriteString(l + "\n")
			}
			prev = l
		}
		section = section[:0]
	}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || digNoise.MatchString(line) {
			continue
		}
		if strings.HasPrefix(line, ";") {
			flush()
			line = digID.ReplaceAllString(line, "")
			line = digCount.ReplaceAllString(line, "")
			b.WriteString(line + "\n")
			continue
		}
		f := strings.Fields(strings.ToLower(line))
		if len(f) >= 7 && f[3] == "soa" {
			f[6] = "SERIAL"
		}
		section = append(section, strings.Join(f, " "))
	}
	flush()
	return b.String()
}

// TestCookieWithDig: BIND's dig gets a server cookie from detour, over
// UDP and TCP, and a query sending it back is answered with a good one.
func TestCookieWithDig(t *testing.T) {
	_, detour := startDetour(t, interopSpec)
	cookie := regexp.MustCompile(`; COOKIE: ([0-9a-f]{48}) \(good\)`)
	for _, transport := range []string{"+notcp", "+tcp"} {
		out := testutil.Dig(t, detour, "+norec", "+cookie", transport, "www.example.test", "A")
		m := cookie.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("dig %s: no good 24-byte cookie in the reply:\n%s", transport, out)
		}
		again := testutil.Dig(t, detour, "+norec", "+cookie="+m[1], transport, "www.example.test", "A")
		if !cookie.MatchString(again) || !strings.Contains(again, "status: NOERROR") || strings.Contains(again, "BADCOOKIE") {
			t.Errorf("dig %s with the server cookie:\n%s", transport, again)
		}
	}
}

// TestResolverFollowsFailover resolves through a real unbound resolver with
// a stub zone pointing at detour, and sees a failover once the TTL passes.
func TestResolverFollowsFailover(t *testing.T) {
	l, detour := startDetour(t, `
zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: |
      ns1  IN A 127.0.0.1
      docs IN CNAME www
      big  IN TXT "`+strings.Repeat("a", 200)+`" "`+strings.Repeat("b", 200)+`"
      big  IN TXT "`+strings.Repeat("c", 200)+`" "`+strings.Repeat("d", 200)+`"
datacenters: [{name: a}, {name: b}, {name: c}]
pools:
  - {name: east, datacenter: a, endpoints: [{address: 192.0.2.10}]}
  - {name: west, datacenter: b, endpoints: [{address: 198.51.100.10}]}
records:
  - {name: www.example.test, type: A, ttl: 1, pools: [east, west], fallback: [192.0.2.99]}
`)
	unbound := testutil.StartUnbound(t, map[string]string{"example.test.": detour})
	short := func(name, typ string) string {
		return strings.TrimSpace(testutil.Dig(t, unbound, "+short", name, typ))
	}
	if got := short("www.example.test", "A"); got != "192.0.2.10" {
		t.Fatalf("www via unbound = %q, want 192.0.2.10", got)
	}
	if got := short("docs.example.test", "A"); got != "www.example.test.\n192.0.2.10" {
		t.Errorf("docs via unbound = %q, want the CNAME and 192.0.2.10", got)
	}
	if out := testutil.Dig(t, unbound, "nope.example.test", "A"); !strings.Contains(out, "status: NXDOMAIN") {
		t.Errorf("nope via unbound is not NXDOMAIN:\n%s", out)
	}
	// 800+ bytes: truncated over UDP, so unbound must retry over TCP.
	if got := short("big.example.test", "TXT"); strings.Count(got, "\n") != 1 || !strings.Contains(got, strings.Repeat("d", 200)) {
		t.Errorf("big TXT via unbound = %q, want both records", got)
	}
	if err := l.SetHealth(down{"192.0.2.10": true}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := short("www.example.test", "A")
		if got == "198.51.100.10" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after failover, www via unbound = %q, want 198.51.100.10", got)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

type down map[string]bool

func (d down) Endpoint(_, addr string) controller.EndpointHealth {
	return controller.EndpointHealth{Known: true, Up: !d[addr], Reason: fmt.Sprintf("test says %s is down", addr)}
}
