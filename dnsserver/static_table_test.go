package dnsserver

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/spec"
)

// tableSpec has names of every shape the static table takes or leaves:
// RRsets of several records, several types at a name, TXT with escapes
// and several strings, a nested zone, a wildcard, a delegation with
// glue, names with names below them, names beside MX and CNAME, a
// health-driven record, and a TXT RRset too large for one message.
func tableSpec(t *testing.T) *spec.Spec {
	t.Helper()
	var big strings.Builder
	for i := range 300 {
		fmt.Fprintf(&big, "huge IN TXT \"%s%d\"\n", strings.Repeat("x", 250), i)
	}
	static := `ns1 IN A 127.0.0.1
a IN A 192.0.2.1
a IN A 192.0.2.2
a IN AAAA 2001:db8::1
a IN TXT "v=spf1 -all" "second string"
t IN TXT "quote \" and \\ and \065 and space"
b.c IN A 192.0.2.3
c IN TXT "has a name below"
x.y.z IN AAAA 2001:db8::2
*.w IN A 192.0.2.4
mx IN MX 10 a
mx2 IN A 192.0.2.5
mx2 IN MX 10 mx2
alias IN CNAME a
sub IN NS ns.sub
ns.sub IN A 192.0.2.6
deep.ns.sub IN A 192.0.2.7
MiXeD IN A 192.0.2.8
` + big.String()
	text := "zones:\n  - name: tab.test\n    soa: {mname: ns1.tab.test., rname: h.tab.test.}\n    nameservers: [ns1.tab.test.]\n    static: |\n      " +
		strings.ReplaceAll(strings.TrimSpace(static), "\n", "\n      ") + "\n" +
		"  - name: inner.tab.test\n    soa: {mname: ns1.tab.test., rname: h.tab.test.}\n    nameservers: [ns1.tab.test.]\n    static: |\n      i IN A 192.0.2.9\n" +
		"datacenters: [{name: a}, {name: b}, {name: c}]\n" +
		"pools: [{name: web, datacenter: a, endpoints: [{address: 192.0.2.10}]}]\n" +
		"records: [{name: www.tab.test, type: A, ttl: 30, pools: [web]}]\n"
	s, err := spec.ParseLocal([]byte(text), ".")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// zoneSetWithoutTable is NewZoneSet keeping every name as a node, as
// zone sets did before the static table.
func zoneSetWithoutTable(s *spec.Spec) *ZoneSet {
	zs := &ZoneSet{zones: map[string]*zone{}, fast: map[string]*packed{}, static: &staticTable{}}
	for _, cz := range s.CompiledZones() {
		z := newZone(cz, nil)
		zs.zones[z.origin] = z
		zs.maxLabels = max(zs.maxLabels, dns.CountLabel(z.origin))
	}
	zs.static.build()
	zs.prepack()
	zs.xfr, zs.tsigKeys = transferSettings(s)
	zs.dnssecSettings(s)
	zs.markNegative()
	return zs
}

// TestStaticTableAnswersAsNodes: a zone set holding plain names in its
// table answers every query byte for byte as one holding them as nodes,
// fast path and slow path, and transfers the same records.
func TestStaticTableAnswersAsNodes(t *testing.T) {
	s := tableSpec(t)
	table, err := NewZoneSet(s)
	if err != nil {
		t.Fatal(err)
	}
	nodes := zoneSetWithoutTable(s)
	z := table.zones["tab.test."]
	for _, name := range []string{"a.tab.test.", "t.tab.test.", "b.c.tab.test.", "x.y.z.tab.test.", "ns1.tab.test.", "mixed.tab.test."} {
		if _, ok := z.nodes[name]; ok || z.static.node(name) == nil {
			t.Errorf("%s: want it in the table, not a node", name)
		}
	}
	for _, name := range []string{"c.tab.test.", "y.z.tab.test.", "mx.tab.test.", "ns.sub.tab.test.", "deep.ns.sub.tab.test.", "huge.tab.test.", "www.tab.test.", "mx2.tab.test.", "*.w.tab.test."} {
		if z.static.node(name) != nil {
			t.Errorf("%s: want it a node, found in the table", name)
		}
	}
	if table.static.entries < 8 {
		t.Errorf("the table holds %d answers, want at least 8", table.static.entries)
	}
	now := time.Unix(1700000000, 0)
	www, _ := dns.NewRR("www.tab.test. 30 IN A 192.0.2.10")
	dyn := []DynamicAnswer{{Name: "www.tab.test.", Type: dns.TypeA, Variants: []Variant{{Weight: 1, RRs: []dns.RR{www}}}}}
	snapT, err := Build(table, dyn, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	snapN, err := Build(nodes, dyn, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	hT := NewHandler(fixedSource{snapT}, Options{NSID: "n"})
	hN := NewHandler(fixedSource{snapN}, Options{NSID: "n"})
	scT, scN := NewScratch(1), NewScratch(1)
	var names []string
	for _, origin := range []string{"tab.test.", "inner.tab.test."} {
		for _, rr := range snapN.Records(origin) {
			names = append(names, rr.Header().Name)
		}
	}
	names = append(names, "nx.tab.test.", "below.a.tab.test.", "q.w.tab.test.", "below.b.c.tab.test.", "c.tab.test.", "z.tab.test.", "A.TAB.test.", "mIxEd.tab.test.")
	slices.Sort(names)
	names = slices.Compact(names)
	queries := 0
	for _, name := range names {
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeTXT, dns.TypeMX, dns.TypeCNAME, dns.TypeNS, dns.TypeSOA, dns.TypeANY, dns.TypeDS} {
			for _, do := range []bool{false, true} {
				m := new(dns.Msg)
				m.SetQuestion(name, qt)
				m.Id = 4242
				m.SetEdns0(1232, do)
				msg, err := m.Pack()
				if err != nil {
					t.Fatal(err)
				}
				a := append([]byte(nil), hT.Serve(msg, scT, false)...)
				b := hN.Serve(msg, scN, false)
				if !bytes.Equal(a, b) {
					ra, rb := new(dns.Msg), new(dns.Msg)
					ra.Unpack(a)
					rb.Unpack(b)
					t.Errorf("%s %s do=%v: answers differ\ntable:\n%s\nnodes:\n%s", name, dns.TypeToString[qt], do, ra, rb)
				}
				queries++
			}
		}
	}
	for _, origin := range []string{"tab.test.", "inner.tab.test."} {
		a, b := snapT.Records(origin), snapN.Records(origin)
		if len(a) != len(b) {
			t.Fatalf("%s: transfer of %d records, want %d", origin, len(a), len(b))
		}
		for i := range a {
			if a[i].String() != b[i].String() {
				t.Errorf("%s: record %d of the transfer is %s, want %s", origin, i, a[i], b[i])
			}
		}
		if c, w := table.zones[origin].staticCount(), nodes.zones[origin].staticCount(); c != w {
			t.Errorf("%s: %d static records counted, want %d", origin, c, w)
		}
	}
	t.Logf("%d queries answered alike", queries)
}

// TestStaticTableDoesNotAllocate: the fast path answers a name of the
// table without allocating.
func TestStaticTableDoesNotAllocate(t *testing.T) {
	h := benchHandler(t, 100)
	if h.src.Answers().zs.static.get(wireKey(nil, "h5.bench.test.", dns.TypeA)) == nil {
		t.Fatal("h5.bench.test. is not in the static table")
	}
	sc := NewScratch(1)
	msg := benchQuery(t, "h5.bench.test.", dns.TypeA)
	if n := testing.AllocsPerRun(1000, func() { h.Serve(msg, sc, false) }); n != 0 {
		t.Errorf("%v allocations per query, want 0", n)
	}
}
