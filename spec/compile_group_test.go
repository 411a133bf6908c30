package spec

import (
	"testing"

	"github.com/miekg/dns"
)

// TestStaticRecordsGrouped: a zone's static records come RRset by
// RRset, in the order each RRset first appears, records in theirs, TTLs
// merged to the last and duplicates gone (the DNS server relies on the
// grouping).
func TestStaticRecordsGrouped(t *testing.T) {
	doc := "zones:\n  - name: g.test\n    soa: {mname: ns1.g.test., rname: h.g.test.}\n    nameservers: [ns1.g.test.]\n    static: |\n" +
		"      a 60 IN A 192.0.2.1\n      b IN TXT \"x\"\n      a 60 IN AAAA 2001:db8::1\n      a 120 IN A 192.0.2.2\n" +
		"      b IN TXT \"y\"\n      A 30 IN A 192.0.2.1\n      ns1 IN A 127.0.0.1\n      a IN AAAA 2001:db8::2\n" +
		"datacenters: [{name: a}, {name: b}, {name: c}]\n"
	s, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rr := range s.CompiledZones()[0].StaticRecords() {
		got = append(got, rr.String())
	}
	want := []string{
		"a.g.test.\t30\tIN\tA\t192.0.2.1",
		"a.g.test.\t30\tIN\tA\t192.0.2.2",
		"b.g.test.\t3600\tIN\tTXT\t\"x\"",
		"b.g.test.\t3600\tIN\tTXT\t\"y\"",
		"a.g.test.\t3600\tIN\tAAAA\t2001:db8::1",
		"a.g.test.\t3600\tIN\tAAAA\t2001:db8::2",
		"ns1.g.test.\t3600\tIN\tA\t127.0.0.1",
		"g.test.\t3600\tIN\tNS\tns1.g.test.",
	}
	if len(got) != len(want) {
		t.Fatalf("records:\n%q\nwant\n%q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d: %q, want %q", i, got[i], want[i])
		}
	}
	seen := map[[2]any]bool{}
	var last [2]any
	for _, rr := range s.CompiledZones()[0].StaticRecords() {
		k := [2]any{rr.Header().Name, rr.Header().Rrtype}
		if k != last && seen[k] {
			t.Errorf("%s %s: its records are apart", k[0], dns.TypeToString[k[1].(uint16)])
		}
		seen[k], last = true, k
	}
}

// TestInZone: inZone agrees with dns.IsSubDomain.
func TestInZone(t *testing.T) {
	for _, c := range [][2]string{
		{"example.test.", "example.test."}, {"example.test.", "a.example.test."}, {"example.test.", "aexample.test."},
		{"example.test.", "test."}, {".", "a.b."}, {"example.test.", `a\.example.test.`}, {"example.test.", `a\\.example.test.`},
		{"b.test.", `a.b\.test.`}, {"example.test.", "a.b.example.test."}, {"example.test.", "example.test.a."},
	} {
		if got, want := inZone(c[0], c[1]), dns.IsSubDomain(c[0], c[1]); got != want {
			t.Errorf("inZone(%q, %q) = %v, want %v", c[0], c[1], got, want)
		}
	}
}
