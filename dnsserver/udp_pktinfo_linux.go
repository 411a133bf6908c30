//go:build linux

package dnsserver

import (
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pktinfoWords is the room, in 8-byte words (cmsg headers are 8-aligned),
// for one IP_PKTINFO or IPV6_PKTINFO control message: 32 and 40 bytes.
const pktinfoWords = 6

// wildcardUDP reports whether c is bound to the unspecified address, and
// if so asks the kernel for each datagram's destination address.
//
// A socket bound to 0.0.0.0 or :: on a host with several addresses would
// otherwise send a reply from whichever address the route to the client
// prefers, not the one the query was sent to, and resolvers drop such a
// reply (dig: "reply from unexpected source"). The destination comes in a
// control message with each datagram and goes back as the source of the
// reply (as gdnsd and Knot do); a socket bound to one address needs
// neither, and pays nothing per datagram.
func wildcardUDP(c *net.UDPConn) bool {
	a, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok || !a.IP.IsUnspecified() {
		return false
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	_ = rc.Control(func(fd uintptr) {
		if a.IP.To4() != nil {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
			return
		}
		// A dual-stack socket reports IPv4 destinations as mapped
		// IPv6 addresses in IPV6_PKTINFO, and takes them back so.
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
	})
	return serr == nil
}

// words is the bytes of a control-message buffer.
func words(w *[pktinfoWords]uint64) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), pktinfoWords*8)
}

// replyPktinfo writes into out the control message that sends a reply
// from the address the query in came to, and returns its length: 0 when
// the query's control messages (in) carry no destination. The interface
// is left to the routing table, except for an IPv6 link-local address,
// which means nothing without it.
func replyPktinfo(out, in []byte) int {
	const hdr = unix.SizeofCmsghdr
	for len(in) >= hdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&in[0]))
		l := int(h.Len)
		if l < hdr || l > len(in) {
			return 0
		}
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && l >= hdr+unix.SizeofInet4Pktinfo:
			n := copy(out, in[:hdr+unix.SizeofInet4Pktinfo])
			pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&out[hdr]))
			pi.Ifindex, pi.Spec_dst, pi.Addr = 0, pi.Addr, [4]byte{}
			return n
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && l >= hdr+unix.SizeofInet6Pktinfo:
			n := copy(out, in[:hdr+unix.SizeofInet6Pktinfo])
			pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&out[hdr]))
			if pi.Addr[0] != 0xfe || pi.Addr[1]&0xc0 != 0x80 {
				pi.Ifindex = 0
			}
			return n
		}
		in = in[min(len(in), (l+7)&^7):]
	}
	return 0
}
