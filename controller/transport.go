package controller

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Connection kinds on the node-to-node port: the first byte of every
// connection says what follows, so Raft and forwarded proposals share one
// port (and one TLS setup).
const (
	connRaft byte = 'R'
	connRPC  byte = 'C'
)

// DialFunc opens a connection to a peer. Tests wrap it to inject faults.
type DialFunc func(ctx context.Context, addr string) (net.Conn, error)

// Mux accepts node-to-node connections and hands each to Raft or to the
// RPC handler by its first byte.
type Mux struct {
	ln      net.Listener
	tls     *tls.Config
	dial    DialFunc
	logger  *slog.Logger
	raftCh  chan net.Conn
	rpc     func(net.Conn)
	closing chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

// NewMux serves node-to-node traffic on ln. With tlsCfg set, every
// connection (accepted and dialled) is mutual TLS.
func NewMux(ln net.Listener, tlsCfg *tls.Config, dial DialFunc, logger *slog.Logger) *Mux {
	if dial == nil {
		d := &net.Dialer{}
		dial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	}
	return &Mux{ln: ln, tls: tlsCfg, dial: dial, logger: logger, raftCh: make(chan net.Conn, 16), closing: make(chan struct{})}
}

// Serve accepts until Close; rpc handles forwarded proposals.
func (m *Mux) Serve(rpc func(net.Conn)) {
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
			go m.route(c)
		}
	}()
}

func (m *Mux) route(c net.Conn) {
	if m.tls != nil {
		tc := tls.Server(c, m.tls)
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			m.logger.Warn("node port: TLS handshake refused", "remote", c.RemoteAddr().String(), "err", err)
			c.Close()
			return
		}
		c = tc
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var kind [1]byte
	if _, err := io.ReadFull(c, kind[:]); err != nil {
		c.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	switch kind[0] {
	case connRaft:
		select {
		case m.raftCh <- c:
		case <-m.closing:
			c.Close()
		}
	case connRPC:
		if m.rpc == nil {
			c.Close()
			return
		}
		m.rpc(c)
	default:
		m.logger.Warn("node port: unknown connection kind", "remote", c.RemoteAddr().String(), "kind", kind[0])
		c.Close()
	}
}

// Dial opens a connection of the given kind to a peer's node port.
func (m *Mux) Dial(ctx context.Context, addr string, kind byte) (net.Conn, error) {
	c, err := m.dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	if m.tls != nil {
		host, _, _ := net.SplitHostPort(addr)
		cfg := m.tls.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("TLS to %s: %w", addr, err)
		}
		c = tc
	}
	if _, err := c.Write([]byte{kind}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close stops accepting.
func (m *Mux) Close() error {
	var err error
	m.once.Do(func() {
		close(m.closing)
		err = m.ln.Close()
		m.wg.Wait()
	})
	return err
}

// Addr is the node port's address.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// raftLayer is the raft.StreamLayer over the mux.
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
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return l.m.Dial(ctx, string(addr), connRaft)
}
