package dnsserver_test

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

// xfrKey is the TSIG key of the transfer tests; its secret reaches the
// server through Config.Getenv, as from a node's environment.
var xfrKey = testutil.TSIGKey{Name: "xfr-key.", Algorithm: "hmac-sha256", Secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMw=="}

// xfrSpec serves example.test to 127.0.0.2 unsigned and to anyone with
// xfr-key, NOTIFYing the targets in notify. bulk adds that many static
// TXT records, so that a transfer spans several messages.
func xfrSpec(notify string, bulk int) string {
	var b strings.Builder
	for i := range bulk {
		fmt.Fprintf(&b, "      t%d IN TXT \"%s\"\n", i, strings.Repeat("x", 100))
	}
	return `
zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test., refresh: 3600}
    nameservers: [ns1.example.test.]
    allow_transfer: [127.0.0.2, xfr-key]
    also_notify: [` + notify + `]
    tsig_keys: [{name: xfr-key, secret_env: XFR_SECRET}]
    static: |
      ns1  IN A 127.0.0.1
      docs IN CNAME www
` + b.String() + `
  - name: other.test
    soa: {mname: ns1.other.test., rname: hostmaster.other.test.}
    nameservers: [ns1.other.test.]
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

// loopback is what the tests allow NOTIFY to reach: their secondaries
// listen there.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// startPrimary serves specText from a local controller.
func startPrimary(t testing.TB, specText string) (*controller.Local, *dnsserver.Server) {
	t.Helper()
	s, err := spec.ParseLocal([]byte(specText), ".")
	if err != nil {
		t.Fatal(err)
	}
	l, err := controller.NewLocal(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"XFR_SECRET": xfrKey.Secret}
	srv := dnsserver.NewServer(dnsserver.Config{Addr: "127.0.0.1:0", WatchInterval: 10 * time.Millisecond,
		Getenv: func(k string) string { return env[k] }, PeerAllow: loopback}, l, slog.New(slog.DiscardHandler))
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	return l, srv
}

// transferFrom runs a zone transfer from the source address from, signed
// with key when set, and returns every record received (or the error).
func transferFrom(t testing.TB, server, from string, q *dns.Msg, key *testutil.TSIGKey) ([]dns.RR, error) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", server)
	if err != nil {
		t.Fatal(err)
	}
	tr := &dns.Transfer{Conn: &dns.Conn{Conn: c}, ReadTimeout: 5 * time.Second}
	if key != nil {
		tr.TsigSecret = map[string]string{key.Name: key.Secret}
		q.SetTsig(key.Name, dns.HmacSHA256, 300, time.Now().Unix())
	}
	ch, err := tr.In(q, server)
	if err != nil {
		return nil, err
	}
	var out []dns.RR
	for env := range ch {
		if env.Error != nil {
			return out, env.Error
		}
		out = append(out, env.RR...)
	}
	return out, nil
}

func axfrQuery(zone string) *dns.Msg {
	m := new(dns.Msg)
	m.SetAxfr(zone)
	return m
}

func ixfrQuery(zone string, serial uint32) *dns.Msg {
	m := new(dns.Msg)
	m.SetIxfr(zone, serial, "ns1."+zone, "hostmaster."+zone)
	return m
}

// rawExchange sends q (or wire, when set) over TCP from the source
// address from and returns the first reply, unverified.
func rawExchange(t testing.TB, server, from string, q *dns.Msg, wire []byte) *dns.Msg {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", server)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	conn := &dns.Conn{Conn: c}
	if wire == nil {
		var err error
		if wire, err = q.Pack(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Write(wire); err != nil {
		t.Fatal(err)
	}
	r, err := conn.ReadMsg()
	if err != nil && r == nil {
		t.Fatal(err)
	}
	return r
}

func sameRecords(a, b []dns.RR) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !dns.IsDuplicate(a[i], b[i]) || a[i].Header().Ttl != b[i].Header().Ttl {
			return false
		}
	}
	return true
}

// AXFR: the whole zone, SOA first and last, in several messages (TSIG
// chained across them), to allowed clients only.
func TestAXFR(t *testing.T) {
	l, srv := startPrimary(t, xfrSpec("", 500))
	want := append(l.Answers().Records("example.test"), l.Answers().Records("example.test")[0])
	if n := len(want); n < 500 {
		t.Fatalf("Records returned %d records", n)
	}
	signed := func(secret string) *testutil.TSIGKey { k := xfrKey; k.Secret = secret; return &k }
	for _, tc := range []struct {
		name, from string
		key        *testutil.TSIGKey
		rcode      int
		tsigError  uint16
	}{
		{"allowed address", "127.0.0.2", nil, dns.RcodeSuccess, 0},
		{"allowed key", "127.0.0.3", &xfrKey, dns.RcodeSuccess, 0},
		{"allowed address and key", "127.0.0.2", &xfrKey, dns.RcodeSuccess, 0},
		{"address not allowed", "127.0.0.3", nil, dns.RcodeRefused, 0},
		{"wrong secret", "127.0.0.3", signed("d3Jvbmctc2VjcmV0"), dns.RcodeNotAuth, dns.RcodeBadSig},
		{"unknown key", "127.0.0.2", &testutil.TSIGKey{Name: "nokey.", Secret: xfrKey.Secret}, dns.RcodeNotAuth, dns.RcodeBadKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.rcode == dns.RcodeSuccess {
				got, err := transferFrom(t, srv.Addr(), tc.from, axfrQuery("example.test."), tc.key)
				if err != nil {
					t.Fatal(err)
				}
				if !sameRecords(got, want) {
					t.Fatalf("AXFR gave %d records, want %d:\n%v", len(got), len(want), got[:min(5, len(got))])
				}
				return
			}
			q := axfrQuery("example.test.")
			var wire []byte
			if tc.key != nil {
				q.SetTsig(tc.key.Name, dns.HmacSHA256, 300, time.Now().Unix())
				var err error
				if wire, _, err = dns.TsigGenerate(q, tc.key.Secret, "", false); err != nil {
					t.Fatal(err)
				}
			}
			r := rawExchange(t, srv.Addr(), tc.from, q, wire)
			if r.Rcode != tc.rcode || len(r.Answer) != 0 {
				t.Fatalf("rcode %s with %d answers, want %s and none", dns.RcodeToString[r.Rcode], len(r.Answer), dns.RcodeToString[tc.rcode])
			}
			if tc.tsigError != 0 {
				if ts := r.IsTsig(); ts == nil || ts.Error != tc.tsigError {
					t.Fatalf("TSIG %v, want error %s", ts, dns.RcodeToString[int(tc.tsigError)])
				}
			}
		})
	}
	t.Run("zone without transfer settings", func(t *testing.T) {
		if r := rawExchange(t, srv.Addr(), "127.0.0.2", axfrQuery("other.test."), nil); r.Rcode != dns.RcodeRefused {
			t.Fatalf("rcode %s, want REFUSED", dns.RcodeToString[r.Rcode])
		}
	})
	t.Run("zone not served", func(t *testing.T) {
		if r := rawExchange(t, srv.Addr(), "127.0.0.2", axfrQuery("nope.test."), nil); r.Rcode != dns.RcodeNotAuth {
			t.Fatalf("rcode %s, want NOTAUTH", dns.RcodeToString[r.Rcode])
		}
	})
	t.Run("over UDP", func(t *testing.T) {
		r, _, err := (&dns.Client{Net: "udp"}).Exchange(axfrQuery("example.test."), srv.Addr())
		if err != nil || r.Rcode != dns.RcodeNotImplemented {
			t.Fatalf("AXFR over UDP: %v %v, want NOTIMP", r, err)
		}
	})
	if tr := srv.Transfers(); tr.AXFR != 3 || tr.Refused != 5 {
		t.Errorf("transfer counters %+v, want 3 AXFR and 5 refused", tr)
	}
}

// IXFR: the changes since the client's serial from the journal, the SOA
// alone when the client is up to date, the whole zone when its serial is
// not in the journal.
func TestIXFR(t *testing.T) {
	l, srv := startPrimary(t, xfrSpec("", 0))
	s0 := l.Answers().Serial("example.test")
	if err := l.SetHealth(down{"192.0.2.10": true}); err != nil {
		t.Fatal(err)
	}
	s1 := l.Answers().Serial("example.test")
	if s1 == s0 {
		t.Fatal("serial did not change")
	}
	soa := func(serial uint32) string { return fmt.Sprintf("SOA %d", serial) }
	show := func(rrs []dns.RR) string {
		var out []string
		for _, rr := range rrs {
			switch v := rr.(type) {
			case *dns.SOA:
				out = append(out, soa(v.Serial))
			case *dns.A:
				out = append(out, v.A.String())
			default:
				out = append(out, dns.TypeToString[rr.Header().Rrtype])
			}
		}
		return strings.Join(out, " ")
	}
	incremental := strings.Join([]string{soa(s1), soa(s0), "192.0.2.10", soa(s1), "198.51.100.10", soa(s1)}, " ")
	// The server journals the change within its watch interval.
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := transferFrom(t, srv.Addr(), "127.0.0.2", ixfrQuery("example.test.", s0), nil)
		if err != nil {
			t.Fatal(err)
		}
		if show(got) == incremental {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("IXFR from %d: %s\nwant %s", s0, show(got), incremental)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The counters from here on: while the change was not journaled yet,
	// the wait above may have been answered "up to date" too.
	base := srv.Transfers()
	for _, tc := range []struct {
		name   string
		serial uint32
		key    *testutil.TSIGKey
		want   string
	}{
		{"signed", s0, &xfrKey, incremental},
		{"up to date", s1, nil, soa(s1)},
		{"ahead", s1 + 5, nil, soa(s1)},
		{"not in journal", s0 - 100, nil, soa(s1) + " CNAME NS 127.0.0.1 198.51.100.10 " + soa(s1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := transferFrom(t, srv.Addr(), "127.0.0.3", ixfrQuery("example.test.", tc.serial), tc.key)
			if tc.key == nil {
				// 127.0.0.3 is allowed with the key only.
				if err == nil {
					t.Fatalf("unsigned IXFR from 127.0.0.3 was answered: %s", show(got))
				}
				got, err = transferFrom(t, srv.Addr(), "127.0.0.2", ixfrQuery("example.test.", tc.serial), nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			if show(got) != tc.want {
				t.Fatalf("IXFR from %d: %s\nwant %s", tc.serial, show(got), tc.want)
			}
		})
	}
	t.Run("over UDP", func(t *testing.T) {
		// From 127.0.0.2, which allow_transfer lets in.
		c := &dns.Client{Net: "udp", Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)}}}
		r, _, err := c.Exchange(ixfrQuery("example.test.", s0), srv.Addr())
		if err != nil || r.Rcode != dns.RcodeSuccess || show(r.Answer) != soa(s1) {
			t.Fatalf("IXFR over UDP: %v %v, want the SOA alone", r, err)
		}
	})
	tr := srv.Transfers()
	if tr.IXFR-base.IXFR < 1 || tr.IXFRFallback-base.IXFRFallback < 1 || tr.UpToDate-base.UpToDate != 2 || tr.Refused-base.Refused != 3 {
		t.Errorf("transfer counters %+v", tr)
	}
}

// A Knot DNS secondary of detour transfers the zone, hears of a failover
// by NOTIFY and serves the new answer within seconds, by IXFR.
func TestKnotSecondaryFollowsFailover(t *testing.T) {
	testSecondaryFollowsFailover(t, "Knot", testutil.StartKnotSecondary)
}

// So do BIND 9 and NSD 4, configured as docs/hidden-primary.md says.
func TestBINDSecondaryFollowsFailover(t *testing.T) {
	testSecondaryFollowsFailover(t, "BIND", testutil.StartBINDSecondary)
}

func TestNSDSecondaryFollowsFailover(t *testing.T) {
	testSecondaryFollowsFailover(t, "NSD", testutil.StartNSDSecondary)
}

func testSecondaryFollowsFailover(t *testing.T, name string, start func(testing.TB, testutil.Secondary) string) {
	for _, tc := range []struct {
		name string
		key  *testutil.TSIGKey
	}{
		{"by address", nil},
		{"with TSIG", &xfrKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			knotPort := testutil.FreePort(t)
			notify := fmt.Sprintf("'127.0.0.1:%d'", knotPort)
			from := "127.0.0.2"
			if tc.key != nil {
				notify = fmt.Sprintf("'127.0.0.1:%d xfr-key'", knotPort)
				from = "127.0.0.1" // allowed by the key only
			}
			l, srv := startPrimary(t, xfrSpec(notify, 0))
			// Knot transfers from its listen address; give the address
			// case its own allowed source.
			primary := srv.Addr()
			knot := start(t, testutil.Secondary{Zone: "example.test.", Primary: primary, Port: knotPort, Key: tc.key, Source: from})
			waitAnswer(t, knot, "192.0.2.10", 10*time.Second)
			for i, tr := range []struct {
				down string
				want string
			}{{"192.0.2.10", "198.51.100.10"}, {"", "192.0.2.10"}, {"192.0.2.10", "198.51.100.10"}} {
				start := time.Now()
				if err := l.SetHealth(down{tr.down: true}); err != nil {
					t.Fatal(err)
				}
				waitAnswer(t, knot, tr.want, 5*time.Second)
				t.Logf("failover %d reached %s in %s", i+1, name, time.Since(start).Round(time.Millisecond))
			}
			if x := srv.Transfers(); x.AXFR+x.IXFRFallback < 1 || x.IXFR < 3 {
				t.Errorf("transfers %+v, want a first whole zone, then IXFRs", x)
			}
		})
	}
}

// waitAnswer waits until server answers www.example.test A with want.
func waitAnswer(t testing.TB, server, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	got := ""
	for time.Now().Before(deadline) {
		got = answerOf(server)
		if got == want {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s answers www.example.test A with %q after %s, want %s", server, got, timeout, want)
}

func answerOf(server string) string {
	m := new(dns.Msg)
	m.SetQuestion("www.example.test.", dns.TypeA)
	r, _, err := (&dns.Client{Timeout: 500 * time.Millisecond}).Exchange(m, server)
	if err != nil {
		return err.Error()
	}
	if len(r.Answer) != 1 {
		return dns.RcodeToString[r.Rcode]
	}
	if a, ok := r.Answer[0].(*dns.A); ok {
		return a.A.String()
	}
	return r.Answer[0].String()
}

// BenchmarkKnotSecondaryFailover measures the time from a failover
// published on detour to a Knot secondary answering the new address:
// NOTIFY, Knot's SOA query, IXFR, Knot applying it. Each operation is one
// failover (alternating between the two sites), 1.1 s after the last
// one, as failovers are at least a check interval apart: Knot schedules
// refreshes in whole seconds, and a NOTIFY within the second of its last
// refresh waits for the next one (worst 0.7-1 s at 300 ms spacing).
// Run with -benchtime 20x: the pauses are not timed.
func BenchmarkKnotSecondaryFailover(b *testing.B) {
	knotPort := testutil.FreePort(b)
	l, srv := startPrimary(b, xfrSpec(fmt.Sprintf("'127.0.0.1:%d'", knotPort), 0))
	knot := testutil.StartKnotSecondary(b, testutil.Secondary{Zone: "example.test.", Primary: srv.Addr(), Port: knotPort, Source: "127.0.0.2"})
	waitAnswer(b, knot, "192.0.2.10", 10*time.Second)
	var worst time.Duration
	b.ResetTimer()
	for i := range b.N {
		downIP, want := "192.0.2.10", "198.51.100.10"
		if i%2 == 1 {
			downIP, want = "", "192.0.2.10"
		}
		b.StopTimer()
		time.Sleep(1100 * time.Millisecond)
		b.StartTimer()
		start := time.Now()
		if err := l.SetHealth(down{downIP: true}); err != nil {
			b.Fatal(err)
		}
		for answerOf(knot) != want {
			if time.Since(start) > 10*time.Second {
				b.Fatalf("Knot did not follow failover %d within 10s", i)
			}
			time.Sleep(time.Millisecond)
		}
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
	if x := srv.Transfers(); x.IXFR < uint64(b.N)/2 {
		b.Errorf("%d IXFRs for %d failovers: %+v", x.IXFR, b.N, x)
	}
}

// A query signed with a zone's key gets a signed answer (RFC 8945 5.3);
// BIND secondaries sign their SOA refresh queries and drop unsigned
// answers. An unknown key or a bad MAC gets NOTAUTH with the TSIG error.
func TestSignedQueryGetsSignedAnswer(t *testing.T) {
	_, srv := startPrimary(t, xfrSpec("", 0))
	ask := func(net string, key, secret string) (*dns.Msg, error) {
		m := new(dns.Msg)
		m.SetQuestion("Example.Test.", dns.TypeSOA)
		m.SetTsig(key, dns.HmacSHA256, 300, time.Now().Unix())
		c := &dns.Client{Net: net, TsigSecret: map[string]string{key: secret}, Timeout: 2 * time.Second}
		r, _, err := c.Exchange(m, srv.Addr())
		return r, err
	}
	for _, network := range []string{"udp", "tcp"} {
		r, err := ask(network, xfrKey.Name, xfrKey.Secret) // the client verifies the answer's TSIG
		if err != nil {
			t.Fatalf("%s: signed SOA query: %v", network, err)
		}
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeSOA || r.IsTsig() == nil || !r.Authoritative {
			t.Errorf("%s: answer %v", network, r)
		}
		if r.Question[0].Name != "Example.Test." {
			t.Errorf("%s: question %q, want it as asked", network, r.Question[0].Name)
		}
	}
	for _, tc := range []struct {
		name, key, secret string
		tsigErr           uint16
	}{
		{"unknown key", "other-key.", xfrKey.Secret, dns.RcodeBadKey},
		{"wrong secret", xfrKey.Name, "d3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmc=", dns.RcodeBadSig},
	} {
		m := new(dns.Msg)
		m.SetQuestion("example.test.", dns.TypeSOA)
		m.SetTsig(tc.key, dns.HmacSHA256, 300, time.Now().Unix())
		out, _, err := dns.TsigGenerate(m, tc.secret, "", false)
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("udp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Write(out)
		buf := make([]byte, 4096)
		n, err := c.Read(buf)
		c.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		r := new(dns.Msg)
		if err := r.Unpack(buf[:n]); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if r.Rcode != dns.RcodeNotAuth || r.IsTsig() == nil || r.IsTsig().Error != tc.tsigErr || len(r.Answer) != 0 {
			t.Errorf("%s: %v, want NOTAUTH with TSIG error %s", tc.name, r, dns.RcodeToString[int(tc.tsigErr)])
		}
	}
}
