//go:build linux

package dnsserver

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpBatchSize is how many datagrams one recvmmsg/sendmmsg moves. Past a
// few dozen the per-call saving is gone; the buffers are the cost.
const udpBatchSize = 32

// mmsghdr is struct mmsghdr; Go pads it to Msghdr's alignment as C does.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// udpBatch is one worker's recvmmsg/sendmmsg state. Sending and receiving
// a datagram at a time cost two system calls per query, and, worse, a
// wake-up of the client per reply; a batch of replies sent back to back
// wakes the client once. The client's address goes from the receive
// header to the send header as raw sockaddr bytes, so nothing is parsed or
// allocated per query (x/net's ReadBatch allocates a net.UDPAddr per
// message).
type udpBatch struct {
	s  *Server
	sc *Scratch
	rc syscall.RawConn

	rhdr  [udpBatchSize]mmsghdr
	riov  [udpBatchSize]unix.Iovec
	names [udpBatchSize]unix.RawSockaddrInet6
	rbuf  [udpBatchSize][]byte

	whdr [udpBatchSize]mmsghdr
	wiov [udpBatchSize]unix.Iovec
	wbuf [udpBatchSize][]byte

	// wild: the socket is bound to the unspecified address, and each
	// datagram's destination comes in rctl and goes back in wctl as the
	// reply's source (udp_pktinfo_linux.go).
	wild bool
	rctl [udpBatchSize][pktinfoWords]uint64
	wctl [udpBatchSize][pktinfoWords]uint64

	// Results of the RawConn callbacks, which are stored once so that
	// passing them allocates nothing.
	nr, nw, w    int
	rerr, werr   error
	recvF, sendF func(fd uintptr) bool
}

func (s *Server) serveUDP(sc *Scratch) {
	defer s.wg.Done()
	rc, err := s.udp.SyscallConn()
	if err != nil {
		s.logger.Error("dns udp", "err", err)
		return
	}
	b := &udpBatch{s: s, sc: sc, rc: rc}
	if a, ok := s.udp.LocalAddr().(*net.UDPAddr); ok && a.IP.IsUnspecified() {
		b.wild = true
	}
	for i := range udpBatchSize {
		// 64 KiB so that no datagram is cut short, as with one buffer
		// per worker before; pages the kernel never writes stay unmapped.
		b.rbuf[i] = make([]byte, 65535)
		b.riov[i] = unix.Iovec{Base: &b.rbuf[i][0]}
		b.riov[i].SetLen(len(b.rbuf[i]))
		b.rhdr[i].hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.rhdr[i].hdr.Iov = &b.riov[i]
		b.rhdr[i].hdr.SetIovlen(1)
		b.wbuf[i] = make([]byte, 0, s.handler.opts.MaxUDPSize)
		b.whdr[i].hdr.Iov = &b.wiov[i]
		b.whdr[i].hdr.SetIovlen(1)
	}
	b.recvF, b.sendF = b.recv, b.send
	for {
		n, err := b.read()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.logger.Warn("dns udp read", "err", err)
			continue
		}
		sc.now = time.Now()
		w := 0
		for i := range n {
			reply := s.handler.ServeFrom(b.rbuf[i][:b.rhdr[i].n], sc, b.client(i), false)
			if reply == nil {
				continue
			}
			// Serve's reply lives in sc until the next call; each reply
			// in the batch needs its own buffer until sendmmsg.
			b.wbuf[w] = append(b.wbuf[w][:0], reply...)
			b.wiov[w].Base = &b.wbuf[w][0]
			b.wiov[w].SetLen(len(b.wbuf[w]))
			b.whdr[w].hdr.Name = b.rhdr[i].hdr.Name
			b.whdr[w].hdr.Namelen = b.rhdr[i].hdr.Namelen
			if b.wild {
				b.source(i, w)
			}
			w++
		}
		b.write(w)
	}
}

// source makes reply w leave from the address datagram i was sent to.
func (b *udpBatch) source(i, w int) {
	n := replyPktinfo(words(&b.wctl[w]), words(&b.rctl[i])[:b.rhdr[i].hdr.Controllen])
	if n == 0 {
		b.whdr[w].hdr.Control = nil
		b.whdr[w].hdr.SetControllen(0)
		return
	}
	b.whdr[w].hdr.Control = &words(&b.wctl[w])[0]
	b.whdr[w].hdr.SetControllen(n)
}

// client is the address datagram i came from, read from its raw sockaddr
// (an IPv4 socket's fits in the IPv6 one).
func (b *udpBatch) client(i int) netip.Addr {
	name := &b.names[i]
	switch name.Family {
	case unix.AF_INET:
		return netip.AddrFrom4((*unix.RawSockaddrInet4)(unsafe.Pointer(name)).Addr)
	case unix.AF_INET6:
		return netip.AddrFrom16(name.Addr).Unmap()
	}
	return netip.Addr{}
}

// read waits for at least one datagram and returns how many it received.
func (b *udpBatch) read() (int, error) {
	for i := range b.rhdr {
		b.rhdr[i].hdr.Namelen = unix.SizeofSockaddrInet6
		b.rhdr[i].hdr.Flags = 0
		if b.wild {
			b.rhdr[i].hdr.Control = &words(&b.rctl[i])[0]
			b.rhdr[i].hdr.SetControllen(pktinfoWords * 8)
		}
	}
	b.nr, b.rerr = 0, nil
	if err := b.rc.Read(b.recvF); err != nil {
		return 0, err
	}
	return b.nr, b.rerr
}

// recv is the RawConn read callback: false asks the poller to wait.
//
// Both callbacks use RawSyscall: the socket never blocks, and a batch can
// take longer than sysmon's 20 us, after which Syscall would let sysmon
// hand the P to another thread and make this one queue for it again when
// the call returns; that churn cost about 5% of the CPU.
func (b *udpBatch) recv(fd uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.rhdr[0])), udpBatchSize, unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			b.nr = int(n)
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		b.rerr = errno
		return true
	}
}

// write sends the first w replies. A reply the kernel refuses is logged
// and dropped, as a failed single send was.
func (b *udpBatch) write(w int) {
	for off := 0; off < w; {
		b.w, b.nw, b.werr = w-off, off, nil
		if err := b.rc.Write(b.sendF); err != nil {
			if !errors.Is(err, net.ErrClosed) {
				b.s.logger.Debug("dns udp write", "err", err)
			}
			return
		}
		off = b.nw
		if b.werr != nil {
			b.s.logger.Debug("dns udp write", "err", b.werr)
			off++ // the message sendmmsg stopped at
		}
	}
}

// send is the RawConn write callback: it sends b.w replies from b.nw on and
// advances b.nw past those sent.
func (b *udpBatch) send(fd uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.whdr[b.nw])), uintptr(b.w), unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			b.nw += int(n)
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		b.werr = errno
		return true
	}
}
