package testutil

import (
	"net"
	"sync/atomic"
	"testing"
)

// CountUDP listens on a free loopback UDP port and counts the datagrams
// that arrive: the stand-in for a target nothing should be sent to (a
// NOTIFY secondary, an RFC 2136 server, the metadata service). It stops
// with the test.
func CountUDP(t testing.TB) (addr string, n *atomic.Int64) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	n = new(atomic.Int64)
	go func() {
		buf := make([]byte, 65535)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			n.Add(1)
		}
	}()
	return pc.LocalAddr().String(), n
}
