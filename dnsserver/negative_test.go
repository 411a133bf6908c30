package dnsserver

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/spec"
)

// negSpec has zones the fast path answers negatively and zones it must
// not: a plain zone with names in the static table and as nodes (MX,
// CNAME, SRV, empty non-terminals, service labels, health-driven records
// with and without an answer), its SOA's mailbox outside it and its
// minimum below its TTL; a zone nested in it; and one zone each with a
// wildcard, a delegation, a DNAME, DNSSEC on; and a zone with an
// escaped name.
func negSpec(t testing.TB) *spec.Spec {
	t.Helper()
	zone := func(name, soa, static string) string {
		return "  - name: " + name + "\n    soa: {" + soa + "}\n    nameservers: [ns1." + name + ".]\n    static: |\n      ns1 IN A 127.0.0.1\n      " +
			strings.ReplaceAll(strings.TrimSpace(static), "\n", "\n      ") + "\n"
	}
	text := "zones:\n" +
		zone("neg.test", "mname: ns1.neg.test., rname: hostmaster.elsewhere.example., ttl: 3600, negative_ttl: 120", `
a IN A 192.0.2.1
a IN AAAA 2001:db8::1
t IN TXT "text"
mx IN MX 10 a
alias IN CNAME a
x.y.ent IN A 192.0.2.7
_sip._tcp IN SRV 0 5 5060 a
caa IN CAA 0 issue "ca.example.net"
MiXeD IN A 192.0.2.8
`) +
		zone("inner.neg.test", "mname: ns1.inner.neg.test., rname: h.inner.neg.test.", "i IN A 192.0.2.9") +
		zone("wild.test", "mname: ns1.wild.test., rname: h.wild.test.", "*.w IN A 192.0.2.4") +
		zone("deleg.test", "mname: ns1.deleg.test., rname: h.deleg.test.", "sub IN NS ns.sub\nns.sub IN A 192.0.2.6") +
		zone("dname.test", "mname: ns1.dname.test., rname: h.dname.test.", "d IN DNAME neg.test.") +
		zone("esc.test", "mname: ns1.esc.test., rname: h.esc.test.", `a\.b IN A 192.0.2.11`) +
		zone("signed.test", "mname: ns1.signed.test., rname: h.signed.test.", "a IN A 192.0.2.12") +
		"    dnssec: {enabled: true}\n" +
		"datacenters: [{name: a}, {name: b}, {name: c}]\n" +
		"pools:\n" +
		"  - {name: web, datacenter: a, endpoints: [{address: 192.0.2.10}]}\n" +
		"  - {name: web6, datacenter: a, endpoints: [{address: \"2001:db8::10\"}]}\n" +
		"  - {name: host, datacenter: a, endpoints: [{address: a.neg.test.}]}\n" +
		"records:\n" +
		"  - {name: www.neg.test, type: A, ttl: 30, pools: [web]}\n" +
		"  - {name: down.neg.test, type: AAAA, ttl: 30, pools: [web6]}\n" +
		"  - {name: dyn.sub.neg.test, type: CNAME, ttl: 30, pools: [host]}\n"
	s, err := spec.ParseLocal([]byte(text), ".")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// negHandlers serves negSpec twice: with negative answers on the fast
// path, and with them left to the slow path (the resolver), as before.
func negHandlers(t testing.TB) (fast, slow *Handler) {
	t.Helper()
	www, _ := dns.NewRR("www.neg.test. 30 IN A 192.0.2.10")
	target, _ := dns.NewRR("dyn.sub.neg.test. 30 IN CNAME a.neg.test.")
	dyn := []DynamicAnswer{
		{Name: "www.neg.test.", Type: dns.TypeA, Variants: []Variant{{Weight: 1, RRs: []dns.RR{www}}}},
		{Name: "dyn.sub.neg.test.", Type: dns.TypeCNAME, Variants: []Variant{{Weight: 1, RRs: []dns.RR{target}}}},
	}
	return negServe(t, negSpec(t), dyn, Options{NSID: "neg-node"})
}

// negServe serves s with the health-driven answers dyn twice, with and
// without the fast path's negative answers.
func negServe(t testing.TB, s *spec.Spec, dyn []DynamicAnswer, opts Options) (fast, slow *Handler) {
	t.Helper()
	zs, err := NewZoneSet(s)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := Build(zs, dyn, nil, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	plain := *snap
	plain.neg = nil
	return NewHandler(fixedSource{snap}, opts), NewHandler(fixedSource{&plain}, opts)
}

// TestNegativeFastPathAnswersAsResolver: every negative answer the fast
// path gives is, byte for byte, the slow path's, for names of every kind
// (in the table, nodes, empty non-terminals, below existing names,
// nested zones, mixed case), every type, with and without EDNS and DO;
// and the fast path does answer the plain zones' negatives, and leaves
// the others (wildcard, delegation, DNAME, DNSSEC; names with escapes)
// alone.
func TestNegativeFastPathAnswersAsResolver(t *testing.T) {
	fast, slow := negHandlers(t)
	snap := fast.src.Answers()
	names := []string{
		"neg.test.", "a.neg.test.", "t.neg.test.", "mx.neg.test.", "alias.neg.test.", "ent.neg.test.", "y.ent.neg.test.",
		"x.y.ent.neg.test.", "z.x.y.ent.neg.test.", "_tcp.neg.test.", "_sip._tcp.neg.test.", "_x._tcp.neg.test.",
		"caa.neg.test.", "mixed.neg.test.", "MiXeD.NEG.test.", "www.neg.test.", "down.neg.test.", "sub.neg.test.",
		"dyn.sub.neg.test.", "nope.neg.test.", "NoPe.Neg.Test.", "below.a.neg.test.", "a.b.c.d.neg.test.",
		"inner.neg.test.", "i.inner.neg.test.", "j.inner.neg.test.", "x.i.inner.neg.test.",
		"nope.wild.test.", "x.w.wild.test.", "w.wild.test.", "nope.deleg.test.", "x.sub.deleg.test.", "sub.deleg.test.",
		"x.d.dname.test.", "nope.dname.test.", "nope.esc.test.", `a\.b.esc.test.`, `x.a\.b.esc.test.`, "nope.signed.test.", "a.signed.test.", "nope.other.test.",
		"*.neg.test.", "a-b.neg.test.", "1.neg.test.",
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		zones := []string{"neg.test.", "inner.neg.test.", "wild.test.", "deleg.test."}
		var b strings.Builder
		for range r.IntN(3) + 1 {
			for range r.IntN(12) + 1 {
				b.WriteByte("abcdefghijklmnopqrstuvwxyz0123456789-_ABCXYZ"[r.IntN(44)])
			}
			b.WriteByte('.')
		}
		names = append(names, b.String()+zones[r.IntN(len(zones))])
	}
	types := []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeTXT, dns.TypeMX, dns.TypeCNAME, dns.TypeNS, dns.TypeSOA,
		dns.TypeSRV, dns.TypeCAA, dns.TypePTR, dns.TypeDS, dns.TypeDNSKEY, dns.TypeHTTPS, dns.TypeANY, dns.TypeNSEC, 65280}
	fastNX, fastNoData := 0, 0
	scFast, scSlow := NewScratch(7), NewScratch(7)
	for _, name := range names {
		for _, qt := range types {
			for _, shape := range []string{"plain", "edns", "do"} {
				m := new(dns.Msg)
				m.SetQuestion(name, qt)
				m.Id = 0x1234
				if shape != "plain" {
					m.SetEdns0(1232, shape == "do")
				}
				msg, err := m.Pack()
				if err != nil {
					t.Fatal(err)
				}
				var q query
				key, _ := parseQuery(msg, nil, &q)
				took := snap.negative(key, scFast) != nil
				got := string(fast.Serve(msg, scFast, false))
				want := string(slow.Serve(msg, scSlow, false))
				if got != want {
					var g, w dns.Msg
					_ = g.Unpack([]byte(got))
					_ = w.Unpack([]byte(want))
					t.Fatalf("%s %s (%s): fast path (negative %v):\n%v\nslow path:\n%v", name, dns.TypeToString[qt], shape, took, &g, &w)
				}
				if !took {
					continue
				}
				zone := snap.zs.findZone(dns.CanonicalName(name))
				if zone == nil || strings.HasSuffix(zone.origin, "wild.test.") || strings.HasSuffix(zone.origin, "deleg.test.") ||
					strings.HasSuffix(zone.origin, "dname.test.") || strings.HasSuffix(zone.origin, "signed.test.") {
					t.Fatalf("%s %s: answered negatively on the fast path in a zone it must leave alone", name, dns.TypeToString[qt])
				}
				var g dns.Msg
				if err := g.Unpack([]byte(got)); err != nil {
					t.Fatal(err)
				}
				switch g.Rcode {
				case dns.RcodeNameError:
					fastNX++
				case dns.RcodeSuccess:
					fastNoData++
				}
			}
		}
	}
	// Not a count to match, a floor: most of the names above are
	// negative answers in the plain zones.
	if fastNX < 1000 || fastNoData < 100 {
		t.Errorf("the fast path gave %d NXDOMAIN and %d NODATA answers; want it to take the plain zones' negatives", fastNX, fastNoData)
	}
	for _, c := range []struct {
		name string
		qt   uint16
		want bool
	}{
		{"nope.neg.test.", dns.TypeA, true},
		{"a.neg.test.", dns.TypeMX, true},    // in the table
		{"mx.neg.test.", dns.TypeAAAA, true}, // a node
		{"ent.neg.test.", dns.TypeA, true},   // an empty non-terminal
		{"down.neg.test.", dns.TypeA, true},  // a health-driven AAAA: no A
		{"down.neg.test.", dns.TypeAAAA, false},
		{"alias.neg.test.", dns.TypeAAAA, false}, // a CNAME to follow
		{"dyn.sub.neg.test.", dns.TypeA, false},  // a health-driven CNAME
		{"neg.test.", dns.TypeSOA, false},
		{"neg.test.", dns.TypeANY, false},
		{"nope.wild.test.", dns.TypeA, false},
		{"nope.deleg.test.", dns.TypeA, false},
		{"nope.dname.test.", dns.TypeA, false},
		{"nope.signed.test.", dns.TypeA, false},
		{"nope.esc.test.", dns.TypeA, true},     // a name with an escape elsewhere in the zone
		{`a\.b.esc.test.`, dns.TypeAAAA, false}, // a name with an escape: the slow path
		{"j.inner.neg.test.", dns.TypeA, true},
	} {
		if got := snap.negative(wireKey(nil, c.name, c.qt), NewScratch(1)) != nil; got != c.want {
			t.Errorf("%s %s: negative on the fast path %v, want %v", c.name, dns.TypeToString[c.qt], got, c.want)
		}
	}
}

// TestNegativeFastPathDoesNotAllocate: NXDOMAIN and NODATA cost no
// allocation, as positive answers do.
func TestNegativeFastPathDoesNotAllocate(t *testing.T) {
	h := benchHandler(t, 1000)
	sc := NewScratch(1)
	for _, c := range []struct {
		name  string
		qt    uint16
		rcode int
	}{
		{"nope.bench.test.", dns.TypeA, dns.RcodeNameError},
		{"h1.bench.test.", dns.TypeAAAA, dns.RcodeSuccess},
		{"www.bench.test.", dns.TypeTXT, dns.RcodeSuccess},
	} {
		msg := benchQuery(t, c.name, c.qt)
		if out := h.Serve(msg, sc, false); out == nil || int(out[3]&0xF) != c.rcode {
			t.Fatalf("%s %s: %v, want rcode %d", c.name, dns.TypeToString[c.qt], out, c.rcode)
		}
		if n := testing.AllocsPerRun(1000, func() { h.Serve(msg, sc, false) }); n != 0 {
			t.Errorf("%s %s: %v allocations per query, want 0", c.name, dns.TypeToString[c.qt], n)
		}
	}
}

// TestNegativeTemplateSerialFollowsSnapshot: the SOA of a negative
// answer carries the serial of the snapshot that answers it.
func TestNegativeTemplateSerialFollowsSnapshot(t *testing.T) {
	s := negSpec(t)
	zs, err := NewZoneSet(s)
	if err != nil {
		t.Fatal(err)
	}
	sc := NewScratch(1)
	msg := benchQuery(t, "nope.neg.test.", dns.TypeA)
	for _, serial := range []uint32{7, 2026120101} {
		snap, err := BuildSerials(zs, nil, map[string]uint32{"neg.test.": serial}, time.Unix(1700000000, 0))
		if err != nil {
			t.Fatal(err)
		}
		var m dns.Msg
		if err := m.Unpack(NewHandler(fixedSource{snap}, Options{}).Serve(msg, sc, false)); err != nil {
			t.Fatal(err)
		}
		if m.Rcode != dns.RcodeNameError || len(m.Ns) != 1 {
			t.Fatalf("reply %v", &m)
		}
		soa := m.Ns[0].(*dns.SOA)
		if soa.Serial != serial || soa.Hdr.Ttl != 120 || soa.Mbox != "hostmaster.elsewhere.example." || soa.Ns != "ns1.neg.test." {
			t.Errorf("SOA %v, want serial %d, TTL 120 (the negative TTL), the names of the spec", soa, serial)
		}
	}
}
