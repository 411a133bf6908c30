package nodeport

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Spare Raft connections. hashicorp/raft dials a peer the first time it
// has something to send it and keeps the connection in its pool after.
// A follower never sends anything to the other followers until its
// leader goes silent: then its pre-vote is the first message, and it
// waits for TCP, TLS and the hello (three round trips) before the
// request's own. Over a WAN that is most of an election timeout, so a
// candidate's round could end before its first vote arrived (chaos seeds
// 5055 and 8104: a frozen leader, 7.3-8.0 s to fail over against 7.2 s).
// KeepSpares keeps one connection to every other member dialled and
// greeted ahead of need; RaftLayer's Dial hands it out and dials the next.

// Spare timing: how often the keeper checks its spares, and how long a
// spare is kept before it is replaced by a fresh one (middleboxes that
// forget idle flows, certificates renewed on disk).
const (
	spareCheckEvery = time.Second
	spareMaxAge     = time.Minute
)

type spare struct {
	c       net.Conn
	at      time.Time
	cluster string // the cluster ID this node stated in its hello
}

// usable reports whether s may still be handed to Raft: young, alive,
// and greeted with the cluster ID this node states now (a node that
// learnt its cluster's ID since must state it to every peer).
func (m *Mux) usable(s spare) bool {
	return time.Since(s.at) < spareMaxAge && s.cluster == m.clusterID() && alive(s.c)
}

type spares struct {
	mu      sync.Mutex
	ready   map[string]spare    // by address
	dialing map[string]struct{} // addresses being dialled
	self    raft.ServerID
	on      bool
}

// KeepSpares makes the mux keep one greeted KindRaft connection ready to
// every member but self, until Close. Without it RaftLayer dials on
// demand only.
func (m *Mux) KeepSpares(self raft.ServerID) {
	m.spare.mu.Lock()
	if m.spare.on {
		m.spare.mu.Unlock()
		return
	}
	select {
	case <-m.closing:
		m.spare.mu.Unlock()
		return
	default:
	}
	m.spare.on, m.spare.self = true, self
	m.wg.Add(1)
	m.spare.mu.Unlock()
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(spareCheckEvery)
		defer t.Stop()
		for {
			m.refreshSpares()
			select {
			case <-m.closing:
				m.dropSpares(nil)
				return
			case <-t.C:
			}
		}
	}()
}

// refreshSpares drops spares that died, aged or whose member left, and
// dials one to every member that has none.
func (m *Mux) refreshSpares() {
	if m.members == nil {
		return
	}
	want := map[string]bool{}
	for _, s := range m.members() {
		if s.ID != m.spare.self && s.Address != "" {
			want[string(s.Address)] = true
		}
	}
	m.dropSpares(want)
	for addr := range want {
		m.dialSpare(addr)
	}
}

// dropSpares closes the spares that are dead or old, and those whose
// address want does not hold (all of them when want is nil).
func (m *Mux) dropSpares(want map[string]bool) {
	m.spare.mu.Lock()
	var drop []net.Conn
	for addr, s := range m.spare.ready {
		if want != nil && want[addr] && m.usable(s) {
			continue
		}
		drop = append(drop, s.c)
		delete(m.spare.ready, addr)
	}
	m.spare.mu.Unlock()
	for _, c := range drop {
		c.Close()
	}
}

// dialSpare dials a spare to addr in the background unless one is ready
// or being dialled.
func (m *Mux) dialSpare(addr string) {
	m.spare.mu.Lock()
	_, ready := m.spare.ready[addr]
	_, busy := m.spare.dialing[addr]
	if ready || busy || !m.spare.on {
		m.spare.mu.Unlock()
		return
	}
	if m.spare.dialing == nil {
		m.spare.dialing = map[string]struct{}{}
		m.spare.ready = map[string]spare{}
	}
	m.spare.dialing[addr] = struct{}{}
	m.wg.Add(1) // under the lock: Close turns spares off before it waits
	m.spare.mu.Unlock()
	go func() {
		defer m.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), HandshakeTimeout)
		defer cancel()
		go func() {
			select {
			case <-m.closing:
				cancel()
			case <-ctx.Done():
			}
		}()
		cluster := m.clusterID()
		c, err := m.Dial(ctx, addr, KindRaft)
		m.spare.mu.Lock()
		delete(m.spare.dialing, addr)
		closing := false
		select {
		case <-m.closing:
			closing = true
		default:
		}
		if err == nil && !closing {
			if old, ok := m.spare.ready[addr]; ok {
				old.c.Close()
			}
			m.spare.ready[addr] = spare{c: c, at: time.Now(), cluster: cluster}
			c = nil
		}
		m.spare.mu.Unlock()
		if c != nil {
			c.Close()
		}
		if err != nil {
			m.logger.Debug("node port: spare connection", "addr", addr, "err", err)
		}
	}()
}

// takeSpare returns the live spare to addr, if any, and has the next one
// dialled.
func (m *Mux) takeSpare(addr string) net.Conn {
	m.spare.mu.Lock()
	s, ok := m.spare.ready[addr]
	if ok {
		delete(m.spare.ready, addr)
	}
	on := m.spare.on
	m.spare.mu.Unlock()
	if on {
		m.dialSpare(addr)
	}
	if !ok {
		return nil
	}
	if !on || !m.usable(s) {
		s.c.Close()
		return nil
	}
	return s.c
}

type peekState int

const (
	peekIdle    peekState = iota // nothing to read: alive
	peekPending                  // bytes waiting
	peekClosed                   // the peer closed or reset it
)

// alive reports whether the idle spare c can still carry Raft's bytes.
// Under TLS, bytes waiting are the server's session tickets (TLS 1.3
// sends them unasked) or its close_notify: a short read takes in the
// first and reports the second. Raft's server side never speaks first,
// so anything else means the connection is of no use.
func alive(c net.Conn) bool {
	switch peek(c) {
	case peekIdle:
		return true
	case peekClosed:
		return false
	}
	tc, ok := c.(*tls.Conn)
	if !ok {
		return false
	}
	_ = tc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	var b [1]byte
	n, err := tc.Read(b[:])
	_ = tc.SetReadDeadline(time.Time{})
	var ne net.Error
	return n == 0 && errors.As(err, &ne) && ne.Timeout()
}
