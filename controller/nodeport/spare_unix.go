//go:build unix

package nodeport

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
)

// peek looks at c's socket, under any TLS layer, without reading it or
// waiting: nothing there, data waiting, or the peer's end (closed or
// reset). It takes no lock of the socket's (a reader blocked on it does
// not hold it up).
func peek(c net.Conn) peekState {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return peekIdle
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return peekClosed
	}
	state := peekIdle
	err = raw.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case n > 0:
			state = peekPending
		case err == nil: // n == 0: the peer closed it
			state = peekClosed
		case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
		default:
			state = peekClosed
		}
	})
	if err != nil {
		return peekClosed
	}
	return state
}
