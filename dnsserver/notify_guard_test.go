package dnsserver_test

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/dnsserver"
)

// udpCounter listens on loopback UDP and counts the packets that arrive.
func udpCounter(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var n atomic.Int64
	go func() {
		buf := make([]byte, 65535)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			n.Add(1)
		}
	}()
	return pc.LocalAddr().String(), &n
}

// TestNotifyTargetGuarded replays the audit's attack: a zone's
// also_notify names a loopback address (it could as well be the cloud
// metadata service). A server that does not allow loopback sends it
// nothing and counts the refusal; one that allows it sends the NOTIFY.
func TestNotifyTargetGuarded(t *testing.T) {
	target, got := udpCounter(t)
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
