package spec

import (
	"errors"
	"strings"
	"testing"
)

// TestDNAMEZoneChecks: a zone is refused where Knot DNS's zone checks
// refuse it (RFC 6672 sections 2.3 and 2.4), and loads where Knot loads.
func TestDNAMEZoneChecks(t *testing.T) {
	cases := []struct{ name, static, want string }{
		{"a name below", "dname DNAME target.example.test.\na.dname A 192.0.2.9", "a.dname.example.test. is below the DNAME at dname.example.test."},
		{"a wildcard below", "dname DNAME target.example.test.\n*.dname A 192.0.2.9", "*.dname.example.test. is below the DNAME"},
		{"deep below", "dname DNAME target.example.test.\nx.y.dname A 192.0.2.9", "x.y.dname.example.test. is below the DNAME"},
		{"two DNAMEs", "dname DNAME target.example.test.\ndname DNAME other.test.", "dname.example.test. has 2 DNAME records"},
		{"NS beside", "dname DNAME target.example.test.\ndname NS ns1", "has a DNAME and NS records"},
		{"CNAME beside", "dname DNAME target.example.test.\ndname CNAME www", "a CNAME must stand alone"},
		{"other data beside", "dname DNAME target.example.test.\ndname TXT hi", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(zoneSpec("3600", "ns1 A 127.0.0.1\n"+c.static)))
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrInvalid with %q", err, c.want)
			}
		})
	}
}

// TestDynamicRecordBelowDNAME: a health-driven record cannot live below a
// DNAME either.
func TestDynamicRecordBelowDNAME(t *testing.T) {
	text := zoneSpec("3600", "ns1 A 127.0.0.1\ndname DNAME target.example.test.") + `pools:
  - {name: pa, datacenter: a, endpoints: [{address: 192.0.2.1}]}
records:
  - {name: www.dname.example.test, type: A, pools: [pa]}
`
	_, err := Parse([]byte(text))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "www.dname.example.test. is below the DNAME at dname.example.test.") {
		t.Fatalf("err = %v, want the record refused", err)
	}
}
