package specimport_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/internal/specimport"
)

func TestIncludeRefused(t *testing.T) {
	_, err := specimport.ParseZoneFile(strings.NewReader("$INCLUDE /etc/passwd\n"), "example.test", "x.zone")
	if !errors.Is(err, specimport.ErrImport) {
		t.Errorf("err = %v, want ErrImport for $INCLUDE", err)
	}
}

func TestOutsideAndClassSkipped(t *testing.T) {
	z, err := specimport.ParseZoneFile(strings.NewReader(`$ORIGIN example.test.
@ 300 IN SOA ns1 h 1 2 3 4 5
@ 300 IN NS ns1
ns1 300 IN A 192.0.2.1
www.other.test. 300 IN A 192.0.2.2
txt 300 CH TXT "chaos"
`), "example.test", "x.zone")
	if err != nil {
		t.Fatal(err)
	}
	y, err := specimport.Render([]*specimport.Zone{z})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"; detour: @: www.other.test. A is outside the zone: not imported",
		"; detour: txt: class CH record not imported",
	} {
		if !strings.Contains(string(y), want) {
			t.Errorf("output lacks %q:\n%s", want, y)
		}
	}
}

func TestInvalidResultRefused(t *testing.T) {
	z := specimport.NewZone("example.test", "test")
	for _, s := range []string{"example.test. 300 IN SOA ns1.example.test. h.example.test. 1 2 3 4 5", "example.test. 300 IN NS ns1.example.test.", "www.example.test. 300 IN CNAME a.test.", "www.example.test. 300 IN A 192.0.2.1"} {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		z.Add(rr)
	}
	_, err := specimport.Render([]*specimport.Zone{z})
	if !errors.Is(err, specimport.ErrImport) || !strings.Contains(err.Error(), "CNAME") {
		t.Errorf("err = %v, want the spec's refusal of a CNAME beside an A", err)
	}
}
