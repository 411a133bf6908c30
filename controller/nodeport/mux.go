package nodeport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// Connection kinds on the node-to-node port: the first byte of every
// connection says what follows, so Raft and forwarded requests share one
// port (and one TLS setup).
const (
	// KindRaft carries hashicorp/raft's NetworkTransport protocol; the
	// mux hands it to Raft through RaftLayer.
	KindRaft byte = 'R'
	// KindRPC carries framed requests (WriteFrame, ReadFrame) answered
	// by the handler given to Serve.
	KindRPC byte = 'C'
)

// HandshakeTimeout bounds how long an accepted connection may take to
// finish TLS and the hello: one that sends nothing is closed after it. A
// dialling node waits as long for the peer's verdict.
const HandshakeTimeout = 5 * time.Second

// MaxPendingPerHost bounds the connections one host may hold open while
// they authenticate: a flood from one address cannot tie up a node, nor
// keep other hosts' members out.
const MaxPendingPerHost = 32

// DialFunc opens a connection to a peer. Tests wrap it to inject faults.
type DialFunc func(ctx context.Context, addr string) (net.Conn, error)

// Mux accepts node-to-node connections and hands each to Raft or to the
// RPC handler by its first byte; it also dials peers' node ports.
type Mux struct {
	ln     net.Listener
	tls    *tls.Config
	server *tls.Config // tls, refusing peers that are not members
	auth   *peerAuth
	dial   DialFunc
	logger *slog.Logger
	raftCh chan net.Conn
	// rpc serves a forwarding connection from the members named.
	rpc     func(c net.Conn, peer []string)
	closing chan struct{}
	once    sync.Once
	// pending counts connections still authenticating, by remote host.
	pendingMu sync.Mutex
	pending   map[string]int
	wg        sync.WaitGroup
	// live are the accepted connections handed to Raft or the RPC
	// handler: Close closes them, so that their readers return instead
	// of waiting for the peer to hang up.
	liveMu sync.Mutex
	live   map[*liveConn]struct{}
	// handlers counts the live connections their handler has not closed
	// yet (Raft's transport and the RPC handler close theirs as they
	// return): see WaitHandlers.
	handlers sync.WaitGroup
	// cluster says this node's cluster ID (see hello.go).
	cluster atomic.Pointer[func() string]
	// members are the peers (for spares; auth has its own copy).
	members Members
	spare   spares // see spare.go
}

// NewMux serves node-to-node traffic on ln once Serve is called. With
// tlsCfg set, every connection (accepted and dialled) is mutual TLS
// between members: members lists them, and a peer whose certificate
// names none is refused. dial nil means plain TCP.
func NewMux(ln net.Listener, tlsCfg *tls.Config, members Members, dial DialFunc, logger *slog.Logger) *Mux {
	if dial == nil {
		d := &net.Dialer{}
		dial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	}
	m := &Mux{ln: ln, tls: tlsCfg, dial: dial, logger: logger, raftCh: make(chan net.Conn, 16), closing: make(chan struct{}), members: members}
	if tlsCfg != nil {
		m.auth = &peerAuth{members: members, roots: tlsCfg.RootCAs}
		m.server = m.auth.serverTLS(tlsCfg)
	}
	return m
}

// Serve accepts until Close. rpc serves each KindRPC connection, on the
// accepting goroutine of that connection, until it returns; peer names
// the member the certificate authenticated (several IDs when members
// share the host it names), none for plaintext. rpc owns c and closes it.
func (m *Mux) Serve(rpc func(c net.Conn, peer []string)) {
	m.rpc = rpc
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			c, err := m.ln.Accept()
			if err != nil {
				select {
				case <-m.closing:
					return
				default:
				}
				if errors.Is(err, net.ErrClosed) {
					return
				}
				m.logger.Warn("node port accept", "err", err)
				time.Sleep(50 * time.Millisecond)
				continue
			}
			if !m.admit(c) {
				m.logger.Debug("node port: too many connections authenticating", "remote", c.RemoteAddr().String())
				c.Close()
				continue
			}
			go m.route(c)
		}
	}()
}

// route authenticates an accepted connection and hands it on by its
// first byte.
func (m *Mux) route(raw net.Conn) {
	ac, peer, kind, ok := m.authenticate(raw)
	if !ok {
		return
	}
	c := m.track(ac)
	if c == nil {
		return // closing
	}
	switch kind {
	case KindRaft:
		select {
		case m.raftCh <- c:
		case <-m.closing:
			c.Close()
		}
	case KindRPC:
		if m.rpc == nil {
			c.Close()
			return
		}
		m.rpc(c, peer)
	default:
		m.logger.Warn("node port: unknown connection kind", "remote", c.RemoteAddr().String(), "kind", kind)
		c.Close()
	}
}

// authenticate runs TLS (when set) and reads the connection's kind, both
// within HandshakeTimeout, then gives up raw's authenticating slot. It
// closes the connection when it returns !ok.
func (m *Mux) authenticate(raw net.Conn) (c net.Conn, peer []string, kind byte, ok bool) {
	defer m.release(raw)
	c = raw
	_ = c.SetDeadline(time.Now().Add(HandshakeTimeout))
	if m.server != nil {
		tc := tls.Server(c, m.server)
		if err := tc.Handshake(); err != nil {
			m.logger.Warn("node port: peer refused", "remote", c.RemoteAddr().String(), "err", err)
			c.Close()
			return nil, nil, 0, false
		}
		if peer = m.auth.peerOf(tc); len(peer) == 0 {
			m.logger.Warn("node port: peer refused", "remote", c.RemoteAddr().String(), "err", "no longer a member")
			tc.Close()
			return nil, nil, 0, false
		}
		c = tc
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		m.logger.Debug("node port: no connection kind", "remote", c.RemoteAddr().String(), "err", err)
		c.Close()
		return nil, nil, 0, false
	}
	if !m.acceptHello(c, peer) || b[0] == kindHello {
		c.Close()
		return nil, nil, 0, false
	}
	_ = c.SetDeadline(time.Time{})
	return c, peer, b[0], true
}

// admit counts c among its host's authenticating connections, unless
// that host has MaxPendingPerHost already.
func (m *Mux) admit(c net.Conn) bool {
	host := remoteHost(c)
	m.pendingMu.Lock()
	defer m.pendingMu.Unlock()
	if m.pending == nil {
		m.pending = map[string]int{}
	}
	if m.pending[host] >= MaxPendingPerHost {
		return false
	}
	m.pending[host]++
	return true
}

// release ends c's turn as an authenticating connection.
func (m *Mux) release(c net.Conn) {
	host := remoteHost(c)
	m.pendingMu.Lock()
	defer m.pendingMu.Unlock()
	if m.pending[host]--; m.pending[host] <= 0 {
		delete(m.pending, host)
	}
}

func remoteHost(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// Dial opens a connection of the given kind to a peer's node port.
func (m *Mux) Dial(ctx context.Context, addr string, kind byte) (net.Conn, error) {
	return m.DialMember(ctx, "", addr, kind)
}

// DialMember opens a connection of the given kind to member id's node
// port at addr. Under TLS the peer must prove it is the member at addr in
// the configuration, or member id when given (the leader's address as
// Raft reports it may be written differently from the configuration's).
func (m *Mux) DialMember(ctx context.Context, id, addr string, kind byte) (net.Conn, error) {
	c, err := m.dialConn(ctx, id, addr)
	if err != nil {
		return nil, err
	}
	return m.hello(ctx, c, kind, addr)
}

// hello states the connection's kind and this node's cluster ID on c
// and reads the peer's verdict, within HandshakeTimeout (the peer
// answers at once); c is closed when it fails.
func (m *Mux) hello(ctx context.Context, c net.Conn, kind byte, addr string) (net.Conn, error) {
	deadline := time.Now().Add(HandshakeTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = c.SetDeadline(deadline)
	if _, err := m.dialHello(c, kind, addr); err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// dialConn opens a connection to member id's node port at addr, under
// TLS when set.
func (m *Mux) dialConn(ctx context.Context, id, addr string) (net.Conn, error) {
	c, err := m.dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	if m.auth != nil {
		tc := tls.Client(c, m.auth.clientTLS(m.tls, id, addr))
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("TLS to %s: %w", addr, err)
		}
		c = tc
	}
	return c, nil
}

// DialCandidate opens a KindRPC connection to a node that is not a
// member yet, to ask it who it is before it is added: under TLS its
// certificate must chain to the CA and name id (node URI) or addr's
// host. A node that answers but fails the TLS check is a HandshakeError.
func (m *Mux) DialCandidate(ctx context.Context, id, addr string) (net.Conn, error) {
	c, err := m.dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	if m.auth != nil {
		only := func() []raft.Server { return []raft.Server{{ID: raft.ServerID(id), Address: raft.ServerAddress(addr)}} }
		cand := &peerAuth{members: only, roots: m.auth.roots}
		tc := tls.Client(c, cand.clientTLS(m.tls, id, addr))
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, HandshakeError{Err: err}
		}
		c = tc
	}
	hc, err := m.hello(ctx, c, KindRPC, addr) // states this cluster's ID
	if isRemoteAlert(err) {
		// Under TLS 1.3 a server that refuses this node's certificate
		// says so on the first read, after the client's handshake.
		return nil, HandshakeError{Err: err}
	}
	return hc, err
}

// isRemoteAlert reports whether err is a TLS alert the peer sent.
func isRemoteAlert(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error"
}

// HandshakeError is a node that answered but failed the TLS handshake.
type HandshakeError struct{ Err error }

func (e HandshakeError) Error() string { return "TLS handshake: " + e.Err.Error() }
func (e HandshakeError) Unwrap() error { return e.Err }

// Close stops accepting and closes the connections accepted.
func (m *Mux) Close() error {
	var err error
	m.once.Do(func() {
		close(m.closing)
		m.spare.mu.Lock()
		m.spare.on = false // no spare is dialled from here on
		m.spare.mu.Unlock()
		err = m.ln.Close()
		m.wg.Wait()
		m.liveMu.Lock()
		live := m.live
		m.live = nil
		m.liveMu.Unlock()
		for c := range live {
			c.Conn.Close()
		}
	})
	return err
}

// liveConn is an accepted connection that leaves the mux's set when
// closed.
type liveConn struct {
	net.Conn
	m    *Mux
	once sync.Once
}

// track adds c to the live connections; it closes c and returns nil
// when the mux is closing.
func (m *Mux) track(c net.Conn) net.Conn {
	lc := &liveConn{Conn: c, m: m}
	m.liveMu.Lock()
	defer m.liveMu.Unlock()
	select {
	case <-m.closing:
		c.Close()
		return nil
	default:
	}
	if m.live == nil {
		m.live = map[*liveConn]struct{}{}
	}
	m.live[lc] = struct{}{}
	m.handlers.Add(1)
	return lc
}

// Close closes the connection and forgets it.
func (c *liveConn) Close() error {
	c.m.liveMu.Lock()
	delete(c.m.live, c)
	c.m.liveMu.Unlock()
	c.once.Do(c.m.handlers.Done)
	return c.Conn.Close()
}

// WaitHandlers waits, at most timeout, until every connection handed to
// Raft or the RPC handler has been closed by its handler, and says
// whether they all were. Close only closes the sockets under them: a
// handler in the middle of a request finishes it first. The store calls
// this between closing the mux and closing its log store, because
// hashicorp/raft handles a heartbeat on the transport's goroutine, which
// Raft's Shutdown does not wait for: a heartbeat in flight would write
// the term to a closed store and panic (hashicorp/raft#717).
func (m *Mux) WaitHandlers(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() {
		m.handlers.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// Addr is the node port's address.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// RaftLayer is the raft.StreamLayer over the mux: it accepts the
// KindRaft connections and dials peers with KindRaft. advertise is the
// address Raft states as this node's, nil meaning the listener's.
// Closing it closes the mux.
func (m *Mux) RaftLayer(advertise net.Addr) raft.StreamLayer {
	return &raftLayer{m: m, advertise: advertise}
}

type raftLayer struct {
	m         *Mux
	advertise net.Addr
}

func (l *raftLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.m.raftCh:
		return c, nil
	case <-l.m.closing:
		return nil, net.ErrClosed
	}
}

func (l *raftLayer) Close() error { return l.m.Close() }

func (l *raftLayer) Addr() net.Addr {
	if l.advertise != nil {
		return l.advertise
	}
	return l.m.Addr()
}

func (l *raftLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	fresh := func() (net.Conn, error) {
		if c := l.m.takeSpare(string(addr)); c != nil {
			return c, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return l.m.Dial(ctx, string(addr), KindRaft)
	}
	c, err := fresh()
	if err != nil {
		return nil, err
	}
	return newRaftConn(c, fresh), nil
}
