package dnsserver

import (
	"encoding/binary"
	"errors"
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
		ok, closed := s.admitTCP(c)
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
		go s.serveTCP(c)
	}
}

// tcpConn is an open TCP connection's standing in the pools.
type tcpConn struct {
	client    netip.Addr
	secondary bool      // from an allow_transfer network: the reserve's
	idleSince time.Time // waiting for a query since; zero while busy
}

// tcpReserve is how many of limit connections only secondaries (addresses
// in a zone's allow_transfer networks) may use: 1/16, at least one.
func tcpReserve(limit int) int {
	if limit < 2 {
		return 0
	}
	return max(1, limit/16)
}

// admitTCP registers c unless c's client already holds its share of
// connections or the pool c may use is full of busy connections. An
// IPv6 client is its /64: one host commonly has the whole of it.
//
// The last tcpReserve slots are for secondaries, so that clients from
// many addresses cannot keep a zone transfer out. When the general
// pool is full, the connection idle the longest makes room (as Knot and
// NSD do): holding a slot idle costs an attacker its slot, not a
// client with a query the next one.
func (s *Server) admitTCP(c net.Conn) (ok, closed bool) {
	addr := remoteAddr(c)
	client := addr
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		client = p.Addr()
	}
	secondary := s.isSecondary(addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, true
	}
	if s.perIP[client] >= s.cfg.MaxTCPConnsPerIP || !s.makeRoom(secondary) {
		s.tcpShed++
		return false, false
	}
	s.conns[c] = &tcpConn{client: client, secondary: secondary, idleSince: time.Now()}
	s.perIP[client]++
	return true, false
}

// makeRoom reports whether a connection may be admitted to its pool,
// evicting the general pool's longest idle connection if that is what
// it takes. Called with s.mu held.
func (s *Server) makeRoom(secondary bool) bool {
	general := 0
	for _, tc := range s.conns {
		if !tc.secondary {
			general++
		}
	}
	limit := s.cfg.MaxTCPConns - tcpReserve(s.cfg.MaxTCPConns)
	if secondary && len(s.conns) < s.cfg.MaxTCPConns {
		return true
	}
	if !secondary && general < limit && len(s.conns) < s.cfg.MaxTCPConns {
		return true
	}
	var victim net.Conn
	var since time.Time
	for c, tc := range s.conns {
		if !tc.secondary && !tc.idleSince.IsZero() && (victim == nil || tc.idleSince.Before(since)) {
			victim, since = c, tc.idleSince
		}
	}
	if victim == nil {
		return false
	}
	s.forgetTCP(victim)
	s.tcpShed++        // closed to make room: shed all the same
	_ = victim.Close() // its reader wakes, finds it forgotten
	return true
}

// isSecondary reports whether addr is in a zone's allow_transfer
// networks; a rule for any address makes no one a secondary.
func (s *Server) isSecondary(addr netip.Addr) bool {
	snap := s.handler.src.Answers()
	if snap == nil {
		return false
	}
	for _, zt := range snap.zs.xfr {
		for _, r := range zt.rules {
			if r.Prefix.IsValid() && r.Prefix.Bits() > 0 && r.Prefix.Contains(addr) {
				return true
			}
		}
	}
	return false
}

// releaseTCP forgets c unless an eviction already did.
func (s *Server) releaseTCP(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgetTCP(c)
}

// forgetTCP removes c from the pools. Called with s.mu held.
func (s *Server) forgetTCP(c net.Conn) {
	tc := s.conns[c]
	if tc == nil {
		return
	}
	delete(s.conns, c)
	if s.perIP[tc.client]--; s.perIP[tc.client] <= 0 {
		delete(s.perIP, tc.client)
	}
}

// setIdle marks c as waiting for a query (idle) or busy with one.
func (s *Server) setIdle(c net.Conn, idle bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tc := s.conns[c]; tc != nil {
		tc.idleSince = time.Time{}
		if idle {
			tc.idleSince = time.Now()
		}
	}
}

// serveTCP answers length-prefixed messages until the client closes, goes
// idle, is too slow to send a query or take a reply, or the server shuts
// down. Queries are read in batches and the replies to a batch leave in
// one write (tcp_stream.go).
func (s *Server) serveTCP(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.releaseTCP(c)
		c.Close()
	}()
	addr := remoteAddr(c)
	st := s.getTCPStream()
	defer s.putTCPStream(st)
	for {
		for msg, ok := st.next(); ok; msg, ok = st.next() {
			if !s.answerTCP(c, st, msg, addr) {
				return
			}
		}
		if st.flush(c, s.cfg.TCPIOTimeout) != nil || s.readTCP(c, st) != nil {
			return
		}
	}
}

// readTCP reads more of the client's queries. The client has the idle
// timeout, from the last reply, to start a query and the I/O timeout to
// finish it: a client trickling bytes cannot hold the connection.
func (s *Server) readTCP(c net.Conn, st *tcpStream) error {
	idle := st.r == st.w
	switch {
	case idle:
		if st.answered {
			s.setIdle(c, true) // admitTCP marked a new connection idle
		}
		_ = c.SetReadDeadline(time.Now().Add(s.cfg.TCPIdleTimeout))
	case !st.partial:
		st.partial = true
		_ = c.SetReadDeadline(time.Now().Add(s.cfg.TCPIOTimeout))
	}
	// Shutdown cancels s.ctx before it wakes readers with a deadline in
	// the past: a deadline set above, after that wake-up, is caught here.
	if err := s.ctx.Err(); err != nil {
		return err
	}
	if err := st.fill(c); err != nil {
		return err
	}
	if idle {
		s.setIdle(c, false)
	}
	return nil
}

// answerTCP answers msg on c, queueing the reply in st; false means the
// connection is done.
func (s *Server) answerTCP(c net.Conn, st *tcpStream, msg []byte, addr netip.Addr) bool {
	sc := st.sc
	st.answered = true
	if qtype := transferQtype(msg, sc); qtype != 0 {
		// Zone transfers take several messages and the client's
		// address: they never reach the handler. A whole zone may
		// take a while to leave: each message has the idle timeout.
		if st.flush(c, s.cfg.TCPIOTimeout) != nil {
			return false
		}
		first, err := s.transfer(msg, addr, func(m []byte) error {
			return writeTCP(c, m, s.cfg.TCPIdleTimeout)
		})
		if first != nil {
			sc.Stats.count(first, qtype)
		}
		return err == nil
	}
	if reply := s.handler.ServeFrom(msg, sc, addr, true); reply != nil {
		st.add(reply)
	}
	if len(st.out) >= tcpOutFlush {
		return st.flush(c, s.cfg.TCPIOTimeout) == nil
	}
	return true
}

// getTCPStream takes a connection's buffers from the pool, or makes them,
// and counts its replies in Stats while it is open.
func (s *Server) getTCPStream() *tcpStream {
	st, _ := s.tcpStreams.Get().(*tcpStream)
	if st == nil {
		st = newTCPStream(uint64(time.Now().UnixNano()))
	}
	s.mu.Lock()
	s.tcpScratch[st.sc] = struct{}{}
	s.mu.Unlock()
	return st
}

// putTCPStream folds a closed connection's counters into the totals and
// returns its buffers to the pool.
func (s *Server) putTCPStream(st *tcpStream) {
	s.mu.Lock()
	delete(s.tcpScratch, st.sc)
	s.tcpDone.add(&st.sc.Stats)
	s.mu.Unlock()
	st.reset()
	s.tcpStreams.Put(st)
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
