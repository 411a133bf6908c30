package dnsserver

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/spec"
)

// TestResignAtEpoch: when the refresh interval has passed every
// signature is made anew, with the new epoch's inception and expiration,
// and the serial moves to the epoch's start, so that secondaries fetch
// the re-signed zone.
func TestResignAtEpoch(t *testing.T) {
	h := signedBenchHandler(t, 10, spec.AlgECDSAP256SHA256)
	var clock atomic.Int64
	start := time.Now()
	clock.Store(start.UnixNano())
	h.sign.now = func() time.Time { return time.Unix(0, clock.Load()) }
	sc := NewScratch(1)
	sigOf := func() (*dns.RRSIG, uint32) {
		out := h.Serve(doQuery(t, "h5.bench.test.", dns.TypeA), sc, false)
		r := new(dns.Msg)
		if err := r.Unpack(out); err != nil || len(r.Answer) != 2 {
			t.Fatalf("%v\n%s", err, r)
		}
		return r.Answer[1].(*dns.RRSIG), h.src.Answers().Serial("bench.test.")
	}
	sig1, serial1 := sigOf()
	refresh := spec.DefaultSigRefresh
	epoch := epochOf(start, refresh)
	if want := uint32(epoch.Add(-spec.DefaultSigBackdate).Unix()); sig1.Inception != want {
		t.Errorf("inception %d, want the epoch's start less the backdate, %d", sig1.Inception, want)
	}
	if want := uint32(epoch.Add(spec.DefaultSigValidity).Unix()); sig1.Expiration != want {
		t.Errorf("expiration %d, want %d", sig1.Expiration, want)
	}
	clock.Store(epoch.Add(refresh).Add(time.Second).UnixNano())
	h.sign.poll(h.src) // the server's signing loop
	sig2, serial2 := sigOf()
	if sig2.Inception != sig1.Inception+uint32(refresh/time.Second) || sig2.Signature == sig1.Signature {
		t.Errorf("after the refresh interval: inception %d (was %d), want a new signature one epoch later", sig2.Inception, sig1.Inception)
	}
	if want := uint32(epoch.Add(refresh).Unix()); serial2 != want || serial2 == serial1 {
		t.Errorf("serial %d (was %d), want the new epoch %d", serial2, serial1, want)
	}
}
