package dnsserver

import (
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/spec"
)

// TestBuildSerialsServesTheSerialGiven: the SOA answered, in the answer
// and in a negative reply's authority, carries the serial the caller
// gave, whatever the content; a zone without one takes the clock.
func TestBuildSerialsServesTheSerialGiven(t *testing.T) {
	s, err := spec.Parse([]byte(zoneTestSpec(`www IN A 192.0.2.1`)))
	if err != nil {
		t.Fatal(err)
	}
	zs, err := NewZoneSet(s)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	for _, c := range []struct {
		serials map[string]uint32
		want    uint32
	}{
		{map[string]uint32{"example.test.": 42}, 42},
		{map[string]uint32{"example.test.": 4_000_000_000}, 4_000_000_000},
		{nil, 1_800_000_000},
	} {
		snap, err := BuildSerials(zs, nil, c.serials, now)
		if err != nil {
			t.Fatal(err)
		}
		if got := snap.Serial("example.test"); got != c.want {
			t.Errorf("serials %v: Serial = %d, want %d", c.serials, got, c.want)
		}
		soa := snap.Lookup("example.test.", dns.TypeSOA)
		nx := snap.Lookup("nope.example.test.", dns.TypeA)
		if len(soa.Answer) != 1 || soa.Answer[0].(*dns.SOA).Serial != c.want || len(nx.Ns) != 1 || nx.Ns[0].(*dns.SOA).Serial != c.want {
			t.Errorf("serials %v: served %v and %v, want serial %d", c.serials, soa.Answer, nx.Ns, c.want)
		}
	}
}
