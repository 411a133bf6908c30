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

// A bucket refills at the rate, holds a second's worth at most, and a
// worker whose clock reading is older than the bucket's last update (the
// workers read the clock once per batch) refills nothing.
func TestRRLBucket(t *testing.T) {
	l, err := newLimiter(RRLConfig{Rate: 10})
	if err != nil {
		t.Fatal(err)
	}
	takes := func(now uint32, n int) int {
		ok := 0
		for range n {
			if l.take(7, now) {
				ok++
			}
		}
		return ok
	}
	if got := takes(1000, 50); got != 10 {
		t.Errorf("a fresh bucket gave %d of 50, want 10 (a second's worth)", got)
	}
	if got := takes(999, 50); got != 0 {
		t.Errorf("a reading 1 ms behind the last update gave %d, want 0", got)
	}
	if got := takes(1500, 50); got != 5 {
		t.Errorf("500 ms later: %d, want 5", got)
	}
	if got := takes(60000, 50); got != 10 {
		t.Errorf("a minute later: %d, want 10 (no more than a second's worth)", got)
	}
	if got := takes(60000+30*24*3600*1000, 50); got != 10 {
		t.Errorf("30 days later (past the wrap of int32 milliseconds): %d, want 10", got)
	}
}
