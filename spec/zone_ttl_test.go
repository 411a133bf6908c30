package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// zoneSpec is a spec with one zone whose ttl is ttl and whose static text
// is static (indented here as in YAML).
func zoneSpec(ttl, static string) string {
	return `
zones:
  - name: example.test
    ttl: ` + ttl + `
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: |
      ` + strings.ReplaceAll(strings.TrimSpace(static), "\n", "\n      ") + `
datacenters: [{name: a}, {name: b}, {name: c}]
`
}

// TestZoneTTLIsDollarTTL: the zone's ttl is the TTL of every static record
// without one, not the TTL of the record written before it (RFC 2308
// section 4); a $TTL line takes over from where it stands; an RRset whose
// records disagree is served with the last TTL, as Knot DNS loads it.
func TestZoneTTLIsDollarTTL(t *testing.T) {
	cases := []struct {
		name, ttl, static string
		want              map[string]uint32 // "name TYPE" -> TTL
		lint              string
	}{
		{"after an explicit TTL", "3600", "mail 300 IN A 192.0.2.25\n@ IN TXT \"v=spf1 -all\"",
			map[string]uint32{"mail A": 300, "@ TXT": 3600, "@ NS": 3600}, ""},
		{"no explicit TTL", "900", "a IN A 192.0.2.1\nb IN A 192.0.2.2",
			map[string]uint32{"a A": 900, "b A": 900}, ""},
		{"$TTL wins from where it stands", "900", "a IN A 192.0.2.1\n$TTL 60\nb IN A 192.0.2.2\nc 30 IN A 192.0.2.3\nd IN A 192.0.2.4",
			map[string]uint32{"a A": 900, "b A": 60, "c A": 30, "d A": 60}, ""},
		{"an RRset around an explicit TTL", "3600", "www A 192.0.2.1\nx 60 A 192.0.2.2\nwww A 192.0.2.3",
			map[string]uint32{"www A": 3600, "x A": 60}, ""},
		{"an RRset of two TTLs takes the last", "3600", "x 60 A 192.0.2.1\nx 300 A 192.0.2.2\nx 120 A 192.0.2.3",
			map[string]uint32{"x A": 120}, "x.example.test. A: TTL 60, 300, 120 -> 120"},
		{"records differing in TTL alone are one", "3600", "@ 300 NS ns1.example.test.",
			map[string]uint32{"@ NS": 3600}, "example.test. NS: TTL 300, 3600 -> 3600"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Parse([]byte(zoneSpec(c.ttl, c.static)))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]uint32{}
			seen := map[string]bool{}
			for _, rr := range s.CompiledZones()[0].StaticRecords() {
				if seen[rr.String()] {
					t.Errorf("%s twice", rr)
				}
				seen[rr.String()] = true
				h := rr.Header()
				name := strings.TrimSuffix(strings.TrimSuffix(h.Name, "example.test."), ".")
				if name == "" {
					name = "@"
				}
				k := name + " " + dns.TypeToString[h.Rrtype]
				if prev, ok := got[k]; ok && prev != h.Ttl {
					t.Errorf("%s served with TTLs %d and %d", k, prev, h.Ttl)
				}
				got[k] = h.Ttl
			}
			for k, want := range c.want {
				if got[k] != want {
					t.Errorf("%s TTL = %d, want %d (all: %v)", k, got[k], want, got)
				}
			}
			lints := ""
			for _, p := range s.Lint() {
				if strings.Contains(p.Message, "TTL") && strings.HasPrefix(p.Path, "zones[0]") {
					lints += p.Message
				}
			}
			if c.lint == "" && lints != "" || !strings.Contains(lints, c.lint) {
				t.Errorf("lint = %q, want %q", lints, c.lint)
			}
		})
	}
}

// TestZoneTextErrorLine: the $TTL line the zone's ttl adds does not shift
// the line numbers of parse errors.
func TestZoneTextErrorLine(t *testing.T) {
	_, err := Parse([]byte(zoneSpec("3600", "a IN A 192.0.2.1\nb IN A 192.0.2.2\nc IN A 192.0.2.300")))
	if err == nil || !strings.Contains(err.Error(), "zones[0].static: line 3:") {
		t.Fatalf("err = %v, want a problem at line 3", err)
	}
}

// TestZoneTTLInFileAndRoundTrip: a file's records without a TTL take the
// zone's ttl too, and keep it once Marshal has inlined the file after the
// static text, whose $TTL and $ORIGIN do not reach into the file's.
func TestZoneTTLInFileAndRoundTrip(t *testing.T) {
	dir := t.TempDir()
	file := "x 60 IN A 192.0.2.1\nb IN A 192.0.2.2\n"
	if err := os.WriteFile(filepath.Join(dir, "z.zone"), []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	text := zoneSpec("900", "$ORIGIN sub.example.test.\n$TTL 60\na IN A 192.0.2.3")
	text = strings.Replace(text, "    static: |", "    file: z.zone\n    static: |", 1)
	s, err := ParseLocal([]byte(text), dir)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Parse(out)
	if err != nil {
		t.Fatalf("marshalled spec does not parse: %v\n%s", err, out)
	}
	want := map[string]uint32{"a.sub.example.test.": 60, "x.example.test.": 60, "b.example.test.": 900}
	for i, sp := range []*Spec{s, s2} {
		got := map[string]uint32{}
		for _, rr := range sp.CompiledZones()[0].StaticRecords() {
			if rr.Header().Rrtype == dns.TypeA {
				got[rr.Header().Name] = rr.Header().Ttl
			}
		}
		for name, ttl := range want {
			if got[name] != ttl {
				t.Errorf("spec %d: %s TTL = %d, want %d (all: %v)", i, name, got[name], ttl, got)
			}
		}
	}
}

// TestContractExampleTTLs: the contract example's apex TXT, written after
// records with a TTL of 300, has the zone's 3600 (it had 300).
func TestContractExampleTTLs(t *testing.T) {
	s, err := Load("../examples/contract/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cz := s.CompiledZones()[0]
	found := false
	for _, rr := range cz.StaticRecords() {
		if h := rr.Header(); h.Rrtype == dns.TypeTXT && h.Name == cz.Name {
			found = true
			if h.Ttl != 3600 {
				t.Errorf("%s: TTL %d, want the zone's 3600", rr, h.Ttl)
			}
		}
	}
	if !found {
		t.Fatal("the example has no apex TXT")
	}
}
