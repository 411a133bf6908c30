package spec

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
)

// fastCorpus is zone text of every shape the tests of this repository
// use, and the corner cases of the fast parser: each compiles alike with
// the fast parser and with miekg/dns's alone.
var fastCorpus = []string{
	"@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 127.0.0.1\nh0 IN A 10.0.0.0\nh1 IN A 10.0.0.1\n",
	"ns1 IN A 127.0.0.1\na IN A 192.0.2.1\na IN A 192.0.2.2\na IN AAAA 2001:db8::1\na IN TXT \"v=spf1 -all\" \"second string\"\n" +
		"t IN TXT \"quote \\\" and \\\\ and \\065 and space\"\nb.c IN A 192.0.2.3\nc IN TXT \"has a name below\"\nx.y.z IN AAAA 2001:db8::2\n" +
		"*.w IN A 192.0.2.4\nmx IN MX 10 a\nmx2 IN A 192.0.2.5\nmx2 IN MX 10 mx2\nalias IN CNAME a\nsub IN NS ns.sub\nns.sub IN A 192.0.2.6\n" +
		"deep.ns.sub IN A 192.0.2.7\nMiXeD IN A 192.0.2.8\n",
	"www 300 IN A 192.0.2.1\nwww 60 IN A 192.0.2.2\nwww IN 120 A 192.0.2.3\n",
	"a IN A 192.0.2.1\na IN A 192.0.2.1\nA 30 IN A 192.0.2.1\na IN TXT \"x\"\na IN TXT \"X\"\nb IN CNAME Target\nb IN CNAME target\n",
	"$ORIGIN sub.example.test.\nx IN A 192.0.2.1\n$ORIGIN deeper\ny IN A 192.0.2.2\n$TTL 77\nz IN A 192.0.2.3\n  IN AAAA ::1\n\tIN TXT \"tab\"\n",
	"$ORIGIN other.test.\nx IN A 192.0.2.1\n",
	"x.other.test. IN A 192.0.2.1\nX.Example.Test. IN A 192.0.2.9\n",
	"x CH A 192.0.2.1\nx in a 192.0.2.2\nx In Aaaa ::ffff:192.0.2.3\n",
	"x IN A 01.2.3.4\n", "x IN A 1.2.3\n", "x IN A ::1\n", "x IN AAAA 192.0.2.1\n", "x IN AAAA fe80::1%eth0\n",
	"x IN A 192.0.2.1 extra\n", "x IN A\n", "x\n", "x IN\n", "  IN A 192.0.2.1\n",
	"x 1h IN A 192.0.2.1\nx 4294967295 IN A 192.0.2.2\ny 4294967296 IN A 192.0.2.3\n",
	"x IN TXT \"\"\ny IN TXT \"a;b\"\nz IN TXT \"semi\" ; comment\nw IN TXT \"two words\"  \"and more\"\n",
	"x IN TXT unquoted words\ny IN TXT \"abc\"def\n",
	"x IN TXT \"" + strings.Repeat("l", 255) + "\"\ny IN TXT \"" + strings.Repeat("m", 256) + "\"\n",
	"x IN TXT \"caf\xc3\xa9\"\n",
	"x IN MX 10 mail\ny IN MX 65535 @\nz IN MX 65536 mail\nw IN MX mail\nv IN MX 10 mail.other.test.\n",
	"_sip._tcp IN SRV 0 5 5060 mail\ndname 300 IN DNAME target.example.test.\ndname IN TXT \"beside a DNAME\"\na.target IN A 192.0.2.5\n",
	"d IN DNAME t\nd IN DNAME t\n",
	"d IN DNAME t\nd IN DNAME u\nx.d IN A 192.0.2.1\n",
	"@ IN CNAME x\nc IN CNAME x\nc IN A 192.0.2.1\n",
	"x IN A 192.0.2.1 ; a comment\n; a line of comment\n\n   \ny IN A 192.0.2.2;no blank\n",
	"x IN SOA ns1 h 1 2 3 4 5\n@ IN SOA ns1 h 1 2 3 4 5\n",
	"@ IN SOA ns1 h ( 1 2\n 3 4 5 )\nx IN A 192.0.2.1\n",
	"x IN A 192.0.2.1\r\ny IN A 192.0.2.2\r\n",
	"a\\.b IN A 192.0.2.1\nc IN A 192.0.2.2\n",
	"$GENERATE 1-5 h$ A 192.0.2.$\nx IN A 192.0.2.1\n",
	"$INCLUDE /etc/passwd\n", "$ttl 5\nx IN A 192.0.2.1\n", "$TTL\n", "$TTL 1h\nx IN A 192.0.2.1\n", "$ORIGIN @\n", "$ORIGIN .\nx IN A 192.0.2.1\n",
	"x..y IN A 192.0.2.1\n", ".x IN A 192.0.2.1\n", strings.Repeat("l", 64) + " IN A 192.0.2.1\n", strings.Repeat("l", 63) + " IN A 192.0.2.1\n",
	strings.Repeat(strings.Repeat("l", 60)+".", 4) + " IN A 192.0.2.1\n",
	"x IN CNAME " + strings.Repeat(strings.Repeat("l", 60)+".", 4) + "\n",
	"x IN TYPE1 \\# 4 c0000201\ny IN CLASS1 A 192.0.2.1\nz IN NULL \\# 0\n",
	"x IN PTR y\ny IN NS ns.x\n*.x IN A 192.0.2.1\nw*x IN A 192.0.2.2\n",
	"x IN A 192.0.2.1\n$ORIGIN sub.example.test.\nx IN A 192.0.2.2\n",
	"x  IN  A  192.0.2.1\nx\tIN\tA\t192.0.2.2\n",
	"x IN A 192.0.2.1", "x IN TXT \"open\n", "x IN TXT \"a\" \"b\" ; \"c\n",
	"x IN A 192.0.2.1\nx IN A 192.0.2.2\nx 30 IN A 192.0.2.1\n",
	"x IN AAAA 2001:DB8::1\nx IN AAAA 2001:db8::1\nx IN AAAA 2001:db8:0:0:0:0:0:1\n",
	"x IN TXT \"spaces  inside\"\nx IN TXT \"!#$%&'*+,-./:<=>?@[]^_`{|}~\"\n",
	"@ IN NS ns1\n@ IN NS NS1\n",
	"x IN CAA 0 issue \"ca.example\"\nx IN HINFO \"a\" \"b\"\n",
}

// compileBoth compiles text as zone example.test with the fast parser
// and with miekg/dns's alone, and fails on any difference.
func compileBoth(t *testing.T, text string, withSOA bool, budget int) {
	t.Helper()
	mk := func() *Zone {
		z := &Zone{Name: "example.test.", TTL: 300, Static: text, Nameservers: []string{"ns1.example.test."}}
		if withSOA {
			z.SOA = &SOA{MName: "ns1.example.test.", RName: "h.example.test."}
		}
		return z
	}
	b1, b2 := budget, budget
	fast, pf := compileZoneWith(mk(), &b1, parseStatic)
	slow, ps := compileZoneWith(mk(), &b2, parseSlow)
	if fmt.Sprint(pf) != fmt.Sprint(ps) {
		t.Fatalf("%q: problems differ:\nfast %v\nslow %v", text, pf, ps)
	}
	if b1 != b2 {
		t.Fatalf("%q: budget left %d (fast), %d (slow)", text, b1, b2)
	}
	if fmt.Sprint(fast.SOA) != fmt.Sprint(slow.SOA) {
		t.Fatalf("%q: SOA %v (fast), %v (slow)", text, fast.SOA, slow.SOA)
	}
	if !bytes.Equal(fast.static.wire, slow.static.wire) || fast.static.count != slow.static.count {
		t.Fatalf("%q: static records differ:\nfast %v\nslow %v", text, fast.StaticRecords(), slow.StaticRecords())
	}
	if !slices.Equal(fast.ttlMerged, slow.ttlMerged) || !slices.Equal(fast.types.keys, slow.types.keys) || !slices.Equal(fast.types.types, slow.types.types) {
		t.Fatalf("%q: RRsets differ: %v %v, %v %v", text, fast.ttlMerged, fast.types.keys, slow.ttlMerged, slow.types.keys)
	}
}

// TestFastParserCompilesAsZoneParser: zones of every shape compile byte
// for byte alike with the fast parser and with miekg/dns's alone.
func TestFastParserCompilesAsZoneParser(t *testing.T) {
	corpus := slices.Clone(fastCorpus)
	if b, err := os.ReadFile("../dnsserver/testdata/interop.zone"); err == nil {
		corpus = append(corpus, string(b))
	} else {
		t.Fatal(err)
	}
	for _, text := range corpus {
		for _, withSOA := range []bool{false, true} {
			compileBoth(t, text, withSOA, MaxStaticRecords)
		}
		compileBoth(t, text, false, 2)
	}
}

// TestFastParserRandomZones: random zone text, mostly of the lines the
// fast parser reads with the others mixed in, compiles alike.
func TestFastParserRandomZones(t *testing.T) {
	seed := uint64(rand.Int64())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	for range 300 {
		var b strings.Builder
		for range 1 + r.IntN(40) {
			b.WriteString(randomLine(r))
		}
		compileBoth(t, b.String(), r.IntN(2) == 0, MaxStaticRecords-r.IntN(2)*(MaxStaticRecords-20))
	}
}

// TestFastParserReadsPlainZones: the lines of a big plain zone go the
// fast way (only its SOA line is left to miekg/dns, alone), so the tests
// above compare the fast parser and not the fallback with itself.
func TestFastParserReadsPlainZones(t *testing.T) {
	text := "$ORIGIN big.test.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\nh0 IN A 10.0.0.0\nh1 300 IN AAAA 2001:db8::1\n  IN TXT \"x y\" \"z\"\nMiX IN CNAME h0\n" +
		"@ IN MX 10 mail.other.test.\n@ IN NS ns1\nh2.big.test. IN PTR h0\n"
	var out staticRecs
	budget := 100
	if err := parseStatic(text, "big.test.", 300, &budget, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.slow) != 1 || len(out.recs) != 8 || !out.recs[0].pending() {
		t.Fatalf("%d records, %d of them by miekg/dns: want 8, the SOA line alone", len(out.recs), len(out.slow))
	}
	out.recs = out.recs[1:]
	if out.recs[3].name != "mix.big.test." || out.recs[2].name != "h1.big.test." || out.recs[1].ttl != 300 || out.recs[2].ttl != 3600 {
		t.Fatalf("records %+v", out.recs)
	}
}

var (
	randOwners = []string{"a", "b", "A", "b.c", "*.w", "@", "x.example.test.", "y.other.test.", "", "  ", "\t", "_s._tcp", "a..b", "MiX"}
	randTTLs   = []string{"", "", "300 ", "60 ", "1h ", "0 "}
	randRdata  = []string{
		"A 192.0.2.1", "A 192.0.2.2", "a 192.0.2.1", "A 01.2.3.4", "A ::1",
		"AAAA 2001:db8::1", "AAAA ::ffff:192.0.2.1", "AAAA 2001:DB8::1",
		"CNAME a", "CNAME x.other.test.", "NS ns1", "NS @", "PTR b.c", "MX 10 a", "MX 20 @", "MX x a",
		"TXT \"x\"", "TXT \"X\"", "TXT \"a b\" \"c\"", "TXT \"a;b\"", "TXT \"\"", "TXT \"esc\\\"q\"", "TXT bare",
		"DNAME t", "SRV 0 5 5060 a", "SOA ns1 h 1 2 3 4 5",
	}
)

// randomLine is one line of zone text.
func randomLine(r *rand.Rand) string {
	switch r.IntN(20) {
	case 0:
		return []string{"$TTL 77\n", "$TTL 2h\n", "$ORIGIN sub.example.test.\n", "$ORIGIN x\n", "$ORIGIN example.test.\n", "; only a comment\n", "\n"}[r.IntN(7)]
	case 1:
		return "p IN TXT ( \"multi\"\n \"line\" )\n"
	}
	owner := randOwners[r.IntN(len(randOwners))]
	if owner != "" && owner[0] != ' ' && owner[0] != '\t' {
		owner += " "
	}
	if owner == "" {
		owner = " "
	}
	class := []string{"IN ", "IN ", "", "in ", "CH "}[r.IntN(5)]
	ttl := randTTLs[r.IntN(len(randTTLs))]
	head := ttl + class
	if r.IntN(3) == 0 {
		head = class + ttl
	}
	line := owner + head + randRdata[r.IntN(len(randRdata))]
	if r.IntN(6) == 0 {
		line += " ; comment"
	}
	return line + "\n"
}

// TestRRsetTable: every key added is found with its number, and no
// other is, in a table filled to its size.
func TestRRsetTable(t *testing.T) {
	const n = 5000
	tab := newRRsetTable(n)
	for i := range n {
		k := rrsetKey{fmt.Sprintf("h%d.example.test.", i/2), uint16(1 + i%2)}
		if got, added := tab.number(k); !added || got != int32(i) {
			t.Fatalf("%v: number %d, added %v; want %d, true", k, got, added, i)
		}
	}
	for i := range n {
		k := rrsetKey{fmt.Sprintf("h%d.example.test.", i/2), uint16(1 + i%2)}
		if got, added := tab.number(k); added || got != int32(i) || !tab.has(k) {
			t.Fatalf("%v: number %d, added %v, has %v; want %d", k, got, added, tab.has(k), i)
		}
		if tab.has(rrsetKey{k.name, 28}) || tab.has(rrsetKey{"x" + k.name, k.typ}) {
			t.Fatalf("%v: found a key never added", k)
		}
	}
	if (*rrsetTable)(nil).has(rrsetKey{"a.", 1}) {
		t.Fatal("a nil table holds a key")
	}
}

// FuzzFastParser: any zone text compiles alike with the fast parser and
// with miekg/dns's alone.
func FuzzFastParser(f *testing.F) {
	for _, text := range fastCorpus {
		f.Add(text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 4096 {
			return
		}
		compileBoth(t, text, false, MaxStaticRecords)
	})
}
