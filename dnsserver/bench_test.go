package dnsserver

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/spec"
)

// fixedSource serves one snapshot.
type fixedSource struct{ snap *Snapshot }

func (f fixedSource) Answers() *Snapshot { return f.snap }

// benchHandler serves a zone of n A records (h0..h{n-1}) plus a
// health-driven record, like bench/dns-qps.sh's zone.
func benchHandler(tb testing.TB, n int) *Handler {
	tb.Helper()
	return benchHandlerWith(tb, n, "")
}

// benchHandlerWith is benchHandler with zone settings added to the
// zone (lines indented by four spaces).
func benchHandlerWith(tb testing.TB, n int, settings string) *Handler {
	tb.Helper()
	var static strings.Builder
	static.WriteString("ns1 IN A 127.0.0.1\n")
	for i := range n {
		fmt.Fprintf(&static, "h%d IN A 10.%d.%d.1\n", i, i/256, i%256)
	}
	text := "zones:\n  - name: bench.test\n    soa: {mname: ns1.bench.test., rname: hostmaster.bench.test.}\n" +
		"    nameservers: [ns1.bench.test.]\n" + settings + "    static: |\n      " +
		strings.ReplaceAll(strings.TrimSpace(static.String()), "\n", "\n      ") + "\n" +
		"datacenters: [{name: a}, {name: b}, {name: c}]\n" +
		"pools: [{name: web, datacenter: a, endpoints: [{address: 192.0.2.10}]}]\n" +
		"records: [{name: www.bench.test, type: A, ttl: 30, pools: [web]}]\n"
	s, err := spec.ParseLocal([]byte(text), ".")
	if err != nil {
		tb.Fatal(err)
	}
	zs, err := NewZoneSet(s)
	if err != nil {
		tb.Fatal(err)
	}
	www, err := dns.NewRR("www.bench.test. 30 IN A 192.0.2.10")
	if err != nil {
		tb.Fatal(err)
	}
	dyn := []DynamicAnswer{{Name: "www.bench.test.", Type: dns.TypeA, Variants: []Variant{{Weight: 1, RRs: []dns.RR{www}}}}}
	snap, err := Build(zs, dyn, nil, time.Unix(1700000000, 0))
	if err != nil {
		tb.Fatal(err)
	}
	// NSID is on by default on a node.
	return NewHandler(fixedSource{snap}, Options{NSID: "bench-node"})
}

// benchQuery packs a query with EDNS0, as resolvers send them.
func benchQuery(tb testing.TB, name string, t uint16) []byte {
	tb.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, t)
	m.SetEdns0(1232, false)
	b, err := m.Pack()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func benchServe(b *testing.B, name string, t uint16, wantRcode int) {
	benchServeMsg(b, name, benchQuery(b, name, t), wantRcode)
}

func benchServeMsg(b *testing.B, name string, msg []byte, wantRcode int) {
	h := benchHandler(b, 1000)
	sc := NewScratch(1)
	if out := h.Serve(msg, sc, false); out == nil || int(out[3]&0xF) != wantRcode {
		b.Fatalf("reply to %s: %v, want rcode %d", name, out, wantRcode)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		h.Serve(msg, sc, false)
	}
}

// BenchmarkServeFastPath answers an existing name from its pre-packed
// answer: what nearly every query costs.
func BenchmarkServeFastPath(b *testing.B) {
	b.Run("static", func(b *testing.B) { benchServe(b, "H500.bench.test.", dns.TypeA, dns.RcodeSuccess) })
	b.Run("dynamic", func(b *testing.B) { benchServe(b, "www.bench.test.", dns.TypeA, dns.RcodeSuccess) })
	b.Run("nsid", func(b *testing.B) {
		benchServeMsg(b, "H500.bench.test.", nsidQuery(b, "H500.bench.test.", dns.TypeA), dns.RcodeSuccess)
	})
}

// BenchmarkServeSlowPath answers through the full parser and resolver.
func BenchmarkServeSlowPath(b *testing.B) {
	b.Run("nxdomain", func(b *testing.B) { benchServe(b, "nope.bench.test.", dns.TypeA, dns.RcodeNameError) })
	b.Run("nodata", func(b *testing.B) { benchServe(b, "h1.bench.test.", dns.TypeTXT, dns.RcodeSuccess) })
}

// limitedHandler is benchHandler with cookies and a rate limit too high to
// drop anything: the cost of RRL when nothing is over the rate.
func limitedHandler(tb testing.TB, n int) *Handler {
	tb.Helper()
	h := benchHandler(tb, n)
	var err error
	if h.cookies, err = newCookies(nil); err != nil {
		tb.Fatal(err)
	}
	if h.rrl, err = newLimiter(RRLConfig{Rate: maxRRLRate}); err != nil {
		tb.Fatal(err)
	}
	return h
}

// cookieQuery is benchQuery with a client cookie.
func cookieQuery(tb testing.TB, name string, t uint16) []byte {
	tb.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, t)
	m.SetEdns0(1232, false)
	m.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0011223344556677"}}
	b, err := m.Pack()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkServeLimited answers from the fast path through RRL over UDP,
// without and with a client cookie, for clients in 256 networks.
func BenchmarkServeLimited(b *testing.B) {
	var clients [256]netip.Addr
	for i := range clients {
		clients[i] = netip.AddrFrom4([4]byte{10, byte(i), 0, 1})
	}
	for name, msg := range map[string][]byte{
		"rrl":        benchQuery(b, "H500.bench.test.", dns.TypeA),
		"rrl+cookie": cookieQuery(b, "H500.bench.test.", dns.TypeA),
	} {
		b.Run(name, func(b *testing.B) {
			h := limitedHandler(b, 1000)
			sc := NewScratch(1)
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for i := 0; b.Loop(); i++ {
				if i%32 == 0 {
					// As the UDP workers do, one clock read per
					// batch of up to 32 datagrams.
					sc.now = time.Now()
				}
				if h.ServeFrom(msg, sc, clients[i%len(clients)], false) == nil {
					b.Fatal("dropped under the rate")
				}
			}
		})
	}
}

// nsidQuery is benchQuery asking for the server's NSID.
func nsidQuery(tb testing.TB, name string, t uint16) []byte {
	m := new(dns.Msg)
	m.SetQuestion(name, t)
	m.SetEdns0(1232, false)
	m.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_NSID{Code: dns.EDNS0NSID}}
	b, err := m.Pack()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestFastPathDoesNotAllocate guards the allocation-free read path: an
// allocation per query would show as GC time under load.
func TestFastPathDoesNotAllocate(t *testing.T) {
	h := benchHandler(t, 100)
	sc := NewScratch(1)
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"static", benchQuery(t, "h7.bench.test.", dns.TypeA)},
		{"static mixed case", benchQuery(t, "H7.Bench.TEST.", dns.TypeA)},
		{"dynamic", benchQuery(t, "www.bench.test.", dns.TypeA)},
		{"apex SOA", benchQuery(t, "bench.test.", dns.TypeSOA)},
		{"NSID", nsidQuery(t, "h7.bench.test.", dns.TypeA)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out := h.Serve(tc.msg, sc, false); out == nil || out[7] == 0 {
				t.Fatalf("no answer: %v", out)
			}
			if n := testing.AllocsPerRun(100, func() { h.Serve(tc.msg, sc, false) }); n != 0 {
				t.Errorf("%.1f allocations per query, want 0", n)
			}
		})
	}
	// With RRL and cookies: under the rate, limited, and slipped.
	client := netip.MustParseAddr("2001:db8::1")
	for _, rate := range []int{maxRRLRate, 1} {
		lh := limitedHandler(t, 100)
		lh.rrl.cfg.Rate, lh.rrl.cfg.Slip = rate, 2
		for name, msg := range map[string][]byte{"plain": benchQuery(t, "h7.bench.test.", dns.TypeA), "cookie": cookieQuery(t, "h7.bench.test.", dns.TypeA)} {
			t.Run(fmt.Sprintf("rate %d %s", rate, name), func(t *testing.T) {
				if n := testing.AllocsPerRun(100, func() { lh.ServeFrom(msg, sc, client, false) }); n != 0 {
					t.Errorf("%.1f allocations per query, want 0", n)
				}
			})
		}
	}
}

// The keys of pre-packed answers share the answers' memory; they must
// still be what parseQuery makes of a query for that name and type.
func TestPackedKeysMatchQueries(t *testing.T) {
	h := benchHandler(t, 10)
	snap := h.src.Answers()
	for k, p := range snap.zs.fast {
		name, _, err := dns.UnpackDomainName([]byte(k), 0)
		if err != nil {
			t.Fatal(err)
		}
		qtype := uint16(k[len(k)-2])<<8 | uint16(k[len(k)-1])
		want, _ := parseQuery(benchQuery(t, name, qtype), nil, new(query))
		if k != string(want) {
			t.Errorf("key %q, want %q", k, want)
		}
		if string(p.wire[headerLen:headerLen+len(k)]) != k {
			t.Errorf("key %q is not the question of its answer", k)
		}
	}
}
