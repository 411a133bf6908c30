package dnsserver

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"time"
)

func (s *Server) acceptTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.logger.Warn("dns tcp accept", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		client, ok, closed := s.admitTCP(c)
		if closed {
			c.Close()
			return
		}
		if !ok {
			// Over a limit: shed at once rather than queue, so the
			// client learns now and the slot stays free for others.
			c.Close()
			continue
		}
		s.wg.Add(1)
		go s.serveTCP(c, client)
	}
}

// admitTCP registers c unless the server is full or c's client already
// holds its share of connections. An IPv6 client is its /64: one host
// commonly has the whole of it.
func (s *Server) admitTCP(c net.Conn) (client netip.Addr, ok, closed bool) {
	addr := remoteAddr(c)
	client = addr
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		client = p.Addr()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return addr, false, true
	}
	if len(s.conns) >= s.cfg.MaxTCPConns || s.perIP[client] >= s.cfg.MaxTCPConnsPerIP {
		s.tcpShed++
		return client, false, false
	}
	s.conns[c] = struct{}{}
	s.perIP[client]++
	return client, true, false
}

// releaseTCP forgets c, counted against client.
func (s *Server) releaseTCP(c net.Conn, client netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if s.perIP[client]--; s.perIP[client] <= 0 {
		delete(s.perIP, client)
	}
}

// serveTCP answers length-prefixed messages until the client closes, goes
// idle, is too slow to send a query or take a reply, or the server shuts
// down.
func (s *Server) serveTCP(c net.Conn, client netip.Addr) {
	defer s.wg.Done()
	defer func() {
		s.releaseTCP(c, client)
		c.Close()
	}()
	addr := remoteAddr(c)
	sc := NewScratch(uint64(time.Now().UnixNano()))
	s.mu.Lock()
	s.tcpScratch[sc] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.tcpScratch, sc)
		s.tcpDone.add(&sc.Stats)
		s.mu.Unlock()
	}()
	buf := make([]byte, 65535)
	for {
		msg, err := s.readTCP(c, buf)
		if err != nil {
			return
		}
		if !s.answerTCP(c, msg, addr, sc) {
			return
		}
	}
}

// readTCP reads one length-prefixed message into buf. The client has the
// idle timeout to start it and the I/O timeout to finish it: a client
// trickling bytes cannot hold the connection.
func (s *Server) readTCP(c net.Conn, buf []byte) ([]byte, error) {
	var lenbuf [2]byte
	_ = c.SetReadDeadline(time.Now().Add(s.cfg.TCPIdleTimeout))
	if _, err := io.ReadFull(c, lenbuf[:1]); err != nil {
		return nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(s.cfg.TCPIOTimeout))
	if _, err := io.ReadFull(c, lenbuf[1:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(lenbuf[:]))
	if _, err := io.ReadFull(c, buf[:n]); err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// answerTCP answers msg on c; false means the connection is done.
func (s *Server) answerTCP(c net.Conn, msg []byte, addr netip.Addr, sc *Scratch) bool {
	if qtype := transferQtype(msg, sc); qtype != 0 {
		// Zone transfers take several messages and the client's
		// address: they never reach the handler. A whole zone may
		// take a while to leave: each message has the idle timeout.
		first, err := s.transfer(msg, addr, func(m []byte) error {
			return writeTCP(c, m, s.cfg.TCPIdleTimeout)
		})
		if first != nil {
			sc.Stats.count(first, qtype)
		}
		return err == nil
	}
	reply := s.handler.ServeFrom(msg, sc, addr, true)
	if reply == nil {
		return true
	}
	return writeTCP(c, reply, s.cfg.TCPIOTimeout) == nil
}

// writeTCP writes msg with its length prefix within timeout.
func writeTCP(c net.Conn, msg []byte, timeout time.Duration) error {
	out := make([]byte, 2+len(msg))
	binary.BigEndian.PutUint16(out, uint16(len(msg)))
	copy(out[2:], msg)
	_ = c.SetWriteDeadline(time.Now().Add(timeout))
	_, err := c.Write(out)
	return err
}

func remoteAddr(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}
