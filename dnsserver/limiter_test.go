package dnsserver

import (
	"net/netip"
	"testing"
)

// Clients share a rate-limit bucket by network: a /24 for IPv4, a /56
// for IPv6 (IPv4-mapped addresses count as IPv4).
func TestRRLNetworks(t *testing.T) {
	l, err := newLimiter(RRLConfig{Rate: 1})
	if err != nil {
		t.Fatal(err)
	}
	sc := NewScratch(1)
	idx := func(a string) uint64 { return l.index(netip.MustParseAddr(a).Unmap(), rrlNXDomain, sc) }
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"192.0.2.1", "192.0.2.254", true},
		{"192.0.2.1", "::ffff:192.0.2.7", true},
		{"192.0.2.1", "192.0.3.1", false},
		{"2001:db8:0:1::1", "2001:db8:0:ff:ffff::1", true},
		{"2001:db8:0:1::1", "2001:db8:0:100::1", false},
	} {
		if got := idx(tc.a) == idx(tc.b); got != tc.same {
			t.Errorf("%s and %s share a bucket: %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}
