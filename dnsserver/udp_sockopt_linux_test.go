//go:build linux

package dnsserver

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// udpPMTUDisc is the UDP socket's IP_MTU_DISCOVER of a server started with
// the given largest UDP reply.
func udpPMTUDisc(t *testing.T, maxUDP int) int {
	t.Helper()
	snap := buildSnapshot(t, testSpec, wwwAnswer("192.0.2.10"), nil, time.Now())
	srv := NewServer(Config{Addr: "127.0.0.1:0", Options: Options{MaxUDPSize: maxUDP}}, fixed{snap}, discard())
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(t.Context())
	rc, err := srv.udp.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		v, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER)
	}); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}

// TestUDPRepliesDontFragment: with replies capped at 1232 bytes (the
// default) the socket sends with DF and ignores learned path MTUs; past
// that cap it is left to the kernel's default, so big replies still
// fragment.
func TestUDPRepliesDontFragment(t *testing.T) {
	if got := udpPMTUDisc(t, 0); got != unix.IP_PMTUDISC_PROBE {
		t.Errorf("default MaxUDPSize: IP_MTU_DISCOVER = %d, want IP_PMTUDISC_PROBE (%d)", got, unix.IP_PMTUDISC_PROBE)
	}
	if got := udpPMTUDisc(t, 4096); got == unix.IP_PMTUDISC_PROBE {
		t.Errorf("MaxUDPSize 4096: IP_MTU_DISCOVER = IP_PMTUDISC_PROBE, want the kernel's default")
	}
}
