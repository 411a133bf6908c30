//go:build linux

package dnsserver

import (
	"log/slog"
	"net"

	"golang.org/x/sys/unix"
)

// tuneUDP sets the UDP socket's per-datagram options.
//
// Replies leave with Don't Fragment set and the path MTU the kernel
// learned ignored (IP_PMTUDISC_PROBE), as RFC 9715 recommends for UDP
// responders: a reply too big for a link is dropped there rather than
// fragmented, and a forged ICMP "fragmentation needed" cannot make the
// server fragment its replies. With DF set the kernel also skips
// computing an IP ID for every IPv4 datagram (the hash behind
// __ip_select_ident, about 2% of the server's CPU under load). Replies
// are capped at MaxUDPSize (1232 bytes by default), below any link MTU
// that carries IPv6, so nothing that fitted before is lost.
//
// An operator who raised MaxUDPSize past 1232 may want bigger replies
// fragmented: the socket is then left as it was.
//
// On a wildcard address it also asks for each datagram's destination, so
// that replies leave from it (wildcardUDP).
func tuneUDP(c *net.UDPConn, maxUDP int, logger *slog.Logger) {
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.IsUnspecified() && !wildcardUDP(c) {
		logger.Warn("dns udp: cannot learn the destination of queries on a wildcard address: replies leave from the route's address")
	}
	if maxUDP <= DefaultMaxUDPSize {
		dontFragment(c, logger)
	}
}

// dontFragment sets IP_PMTUDISC_PROBE (see tuneUDP).
func dontFragment(c *net.UDPConn, logger *slog.Logger) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	v6 := false
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		v6 = true
	}
	var serr error
	_ = rc.Control(func(fd uintptr) {
		if v6 {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_PROBE)
			// A dual-stack socket also sends IPv4.
			_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE)
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE)
	})
	if serr != nil {
		logger.Debug("dns udp: path MTU option", "err", serr)
	}
}
