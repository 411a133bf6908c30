package dnsserver_test

import (
	"github.com/seed3787e6f1/detour/internal/testutil"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/dnsserver"
)

// TestNotifyTargetGuarded replays the audit's attack: a zone's
// also_notify names a loopback address (it could as well be the cloud
// metadata service). A server that does not allow loopback sends it
// nothing and counts the refusal; one that allows it sends the NOTIFY.
func TestNotifyTargetGuarded(t *testing.T) {
	target, got := testutil.CountUDP(t)
	srv := startServer(t, xfrSpec(target, 0), dnsserver.Config{WatchInterval: 10 * time.Millisecond})
	deadline := time.Now().Add(10 * time.Second)
	for srv.NotifiesRefused() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the NOTIFY to a loopback target was neither refused nor sent in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := got.Load(); n != 0 {
		t.Fatalf("%d NOTIFY packets reached the loopback target of a server that does not allow it", n)
	}

	allowed := startServer(t, xfrSpec(target, 0), dnsserver.Config{WatchInterval: 10 * time.Millisecond, PeerAllow: loopback})
	deadline = time.Now().Add(10 * time.Second)
	for got.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no NOTIFY reached a target the server allows in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := allowed.NotifiesRefused(); n != 0 {
		t.Errorf("NotifiesRefused = %d for an allowed target", n)
	}
}
