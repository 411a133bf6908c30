package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

const base = `
zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: |
      ns1 IN A 127.0.0.1
datacenters: [{name: a}, {name: b}, {name: c}]
checks:
  - {name: web, type: http, interval: 1s, timeout: 500ms}
pools:
  - {name: pa, datacenter: a, check: web, endpoints: [{address: 192.0.2.1}]}
  - {name: pb, datacenter: b, check: web, endpoints: [{address: 192.0.2.2}]}
records:
  - {name: www.example.test, type: A, pools: [pa, pb]}
`

// Every file in examples/ loads and validates.
func TestExamplesLoad(t *testing.T) {
	files, err := filepath.Glob("../examples/*/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found %d example specs", len(files))
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			s, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.CompiledZones()) == 0 {
				t.Error("no zones compiled")
			}
		})
	}
}

func TestDefaultsAndNormalisation(t *testing.T) {
	s, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	r := s.Records[0]
	if r.Name != "www.example.test." || r.TTL != DefaultRecordTTL || r.Policy != PolicyFailover || r.OnAllDown != AllDownAll {
		t.Errorf("record defaults: %+v", r)
	}
	if r.Pools[0].Weight != 1 {
		t.Errorf("weight default %d", r.Pools[0].Weight)
	}
	c := s.Checks[0]
	if c.Rise != DefaultRise || c.Fall != DefaultFall || c.Path != "/" || c.Port != 80 || !c.ExpectStatus.Contains(204) || c.ExpectStatus.Contains(500) {
		t.Errorf("check defaults: %+v", c)
	}
	z := s.CompiledZones()[0]
	if z.SOA.Minttl != DefaultNegativeTTL || z.SOA.Hdr.Ttl != DefaultZoneTTL {
		t.Errorf("SOA defaults: %v", z.SOA)
	}
	var ns int
	for _, rr := range z.StaticRecords() {
		if rr.Header().Rrtype == dns.TypeNS {
			ns++
		}
	}
	if ns != 1 || len(z.Dynamic) != 1 {
		t.Errorf("compiled zone: %d NS, %d dynamic", ns, len(z.Dynamic))
	}
}

// Each case edits the base spec and expects these problems, all of them.
func TestValidationReportsEveryProblem(t *testing.T) {
	cases := []struct {
		name    string
		from    string
		to      string
		want    []string
		wantAll bool
	}{
		{"unknown key", "datacenters: [{name: a}", "datacenters: [{name: a, zone: x}", []string{"field zone not found in Datacenter"}, false},
		{"bad duration", "interval: 1s", "interval: fast", []string{`invalid duration "fast"`}, false},
		{"negative interval", "interval: 1s", "interval: -1s", []string{"checks[0].interval: -1s"}, false},
		{"unknown check", "check: web, endpoints: [{address: 192.0.2.2}]", "check: webb, endpoints: [{address: 192.0.2.2}]", []string{`pools[1].check: "webb" is not defined (checks: web)`}, false},
		{"unknown datacenter", "datacenter: b", "datacenter: z", []string{`pools[1].datacenter: "z" is not defined (datacenters: a, b, c)`}, false},
		{"unknown pool", "pools: [pa, pb]", "pools: [pa, pz]", []string{`records[0].pools[1]: "pz" is not defined (pools: pa, pb)`}, false},
		{"duplicate pool", "name: pb,", "name: pa,", []string{`pools[1].name: "pa" is defined twice`}, false},
		{"timeout not below interval", "timeout: 500ms", "timeout: 1s", []string{"checks[0].timeout: 1s must be below the interval (1s)"}, false},
		{"rise out of range", "timeout: 500ms}", "timeout: 500ms, rise: 101}", []string{"checks[0].rise: 101 is out of range 1-100"}, false},
		{"bad regex", "timeout: 500ms}", "timeout: 500ms, expect_body_regex: '('}", []string{"checks[0].expect_body_regex:"}, false},
		{"unknown check type", "type: http", "type: ftp", []string{`checks[0].type: "ftp" is not known`}, false},
		{"heartbeat without max_age", "type: http", "type: heartbeat", []string{"checks[0].max_age: is required for a heartbeat check"}, false},
		{"address of the wrong family", "address: 192.0.2.2", "address: 2001:db8::2", []string{`records[0].pools[1]: pool "pb" endpoints[0]: "2001:db8::2" is not an IPv4 address`}, false},
		{"record outside zones", "name: www.example.test", "name: www.other.test", []string{`records[0].name: "www.other.test." is in none of the zones (example.test.)`}, false},
		{"zone text error", "ns1 IN A 127.0.0.1", "ns1 IN A 127.0.0.300", []string{"zones[0].static:"}, false},
		{"record clashes with static", "ns1 IN A 127.0.0.1", "ns1 IN A 127.0.0.1\n      www IN A 192.0.2.9", []string{"records[0].name: www.example.test. already has static A records"}, false},
		{"fallback without addresses", "pools: [pa, pb]}", "pools: [pa, pb], on_all_down: fallback}", []string{"records[0].on_all_down: is fallback, but no fallback addresses are given"}, false},
		{"record below a delegation", "ns1 IN A 127.0.0.1", "ns1 IN A 127.0.0.1\n      www IN NS ns.other.test.", []string{"records[0].name: www.example.test. is at or below the delegation www.example.test."}, false},
		{"several problems at once", "interval: 1s", "interval: -1s", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := strings.Replace(base, c.from, c.to, 1)
			if text == base {
				t.Fatalf("edit %q not applied", c.from)
			}
			if c.wantAll {
				text = strings.Replace(text, "datacenter: b", "datacenter: z", 1)
				text = strings.Replace(text, "pools: [pa, pb]", "pools: [pa, pz]", 1)
			}
			_, err := Parse([]byte(text))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			msg := err.Error()
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
			if c.wantAll {
				for _, w := range []string{"checks[0].interval", "pools[1].datacenter", "records[0].pools[1]"} {
					if !strings.Contains(msg, w) {
						t.Errorf("error lacks %q:\n%s", w, msg)
					}
				}
			}
		})
	}
}

func TestZoneFileImport(t *testing.T) {
	dir := t.TempDir()
	zone := "$ORIGIN example.test.\n$TTL 600\n@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n@ IN NS ns1\nns1 IN A 127.0.0.1\nwww IN A 192.0.2.1\n"
	if err := os.WriteFile(filepath.Join(dir, "example.test.zone"), []byte(zone), 0o644); err != nil {
		t.Fatal(err)
	}
	text := "zones:\n  - name: example.test\n    file: example.test.zone\ndatacenters: [{name: a}]\n"
	if err := os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(filepath.Join(dir, "spec.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	z := s.CompiledZones()[0]
	if z.SOA == nil || z.SOA.Ns != "ns1.example.test." || len(z.StaticRecords()) != 3 {
		t.Fatalf("imported zone: SOA %v, %d records", z.SOA, len(z.StaticRecords()))
	}
	// The file's text travels with the spec: re-parsing the marshalled
	// spec elsewhere needs no file.
	out, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Parse(out)
	if err != nil {
		t.Fatalf("marshalled spec does not parse: %v\n%s", err, out)
	}
	if len(s2.CompiledZones()[0].StaticRecords()) != 3 {
		t.Errorf("round trip lost records")
	}
}

func TestLints(t *testing.T) {
	text := strings.Replace(base, "datacenters: [{name: a}, {name: b}, {name: c}]", "datacenters: [{name: a}, {name: b}]", 1)
	text = strings.Replace(text, "datacenter: b", "datacenter: a", 1)
	text = strings.Replace(text, "pools: [pa, pb]}", "pools: [pa, pb], ttl: 3600}", 1)
	text = strings.Replace(text, "timeout: 500ms", "timeout: 900ms", 1)
	s, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range s.Lint() {
		got = append(got, p.String())
	}
	all := strings.Join(got, "\n")
	for _, w := range []string{
		"datacenters: 2 datacenter(s)",
		"records[0].pools: every pool of www.example.test. sits in datacenter a",
		"records[0].ttl: 3600 s",
		"checks[0].timeout: 900ms is not well below the interval 1s",
	} {
		if !strings.Contains(all, w) {
			t.Errorf("lints lack %q:\n%s", w, all)
		}
	}
	clean, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if l := clean.Lint(); len(l) != 0 {
		t.Errorf("clean spec has lints: %v", l)
	}
}
