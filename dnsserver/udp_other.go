//go:build !linux

package dnsserver

import (
	"errors"
	"log/slog"
	"net"
)

// serveUDP answers one datagram at a time; Linux batches (udp_linux.go).
func (s *Server) serveUDP(sc *Scratch) {
	defer s.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, addr, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.logger.Warn("dns udp read", "err", err)
			continue
		}
		if reply := s.handler.ServeFrom(buf[:n], sc, addr.Addr().Unmap(), false); reply != nil {
			if _, err := s.udp.WriteToUDPAddrPort(reply, addr); err != nil && !errors.Is(err, net.ErrClosed) {
				s.logger.Debug("dns udp write", "to", addr.String(), "err", err)
			}
		}
	}
}

// tuneUDP leaves the socket as it is off Linux.
func tuneUDP(*net.UDPConn, int, *slog.Logger) {}
