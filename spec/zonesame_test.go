package spec

import (
	"fmt"
	"testing"
)

// digestSpec is two zones with a health-driven record each; the
// arguments vary one part at a time.
func digestSpec(static string, ttl, port int, quorum string) string {
	return fmt.Sprintf(`zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: |
      %s
  - name: other.test
    soa: {mname: ns1.other.test., rname: hostmaster.other.test.}
    nameservers: [ns1.other.test.]
datacenters: [{name: east}]
checks:
  - {name: web, type: tcp, port: %d}
pools:
  - {name: a, datacenter: east, check: web, endpoints: [{address: 192.0.2.1}]}
records:
  - {name: www.example.test, type: A, ttl: %d, pools: [a]}
  - {name: www.other.test, type: A, pools: [a]}
quorum: %s
`, static, port, ttl, quorum)
}

func TestSameZone(t *testing.T) {
	parse := func(yaml string) *Spec {
		t.Helper()
		s, err := Parse([]byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	base := parse(digestSpec(`txt 300 IN TXT "v1"`, 30, 80, "majority"))
	cases := []struct {
		name    string
		yaml    string
		changed string // the zone whose digest changes, "" for none
	}{
		{"the same spec", digestSpec(`txt 300 IN TXT "v1"`, 30, 80, "majority"), ""},
		{"another check port", digestSpec(`txt 300 IN TXT "v1"`, 30, 81, "majority"), ""},
		{"another quorum", digestSpec(`txt 300 IN TXT "v1"`, 30, 80, "any"), ""},
		{"example.test's static text", digestSpec(`txt 300 IN TXT "v2"`, 30, 80, "majority"), "example.test."},
		{"a TTL of example.test's record", digestSpec(`txt 300 IN TXT "v1"`, 60, 80, "majority"), "example.test."},
	}
	for _, c := range cases {
		next := parse(c.yaml)
		for _, zone := range []string{"example.test.", "other.test."} {
			if same := next.SameZone(base, zone); same == (zone == c.changed) {
				t.Errorf("%s: %s SameZone = %v", c.name, zone, same)
			}
		}
	}
	for name, other := range map[string]*Spec{"nil": nil, "unvalidated": {Zones: base.Zones}} {
		if base.SameZone(other, "example.test.") || other.SameZone(base, "example.test.") {
			t.Errorf("a zone is the same as in a %s spec", name)
		}
	}
	if base.SameZone(base, "nowhere.test.") {
		t.Error("a zone the spec lacks is the same")
	}
}
