package testcluster

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/seed3787e6f1/detour/controller/nodeport"
)

// ErrPartitioned is what a dial across a cut returns.
var ErrPartitioned = errors.New("testcluster: partitioned")

// Faults sits between the nodes' node ports: it cuts a node off (every
// connection to or from it closed, new ones refused) and delays every
// write by a fixed time (this kernel has no netem).
type Faults struct {
	mu    sync.Mutex
	cut   map[string]bool
	delay time.Duration
	addrs map[string]string // node port address -> node ID
	conns map[string]map[net.Conn]struct{}
	z     freezer // see freeze.go
}

// NewFaults returns a fault injector with no faults.
func NewFaults() *Faults {
	return &Faults{cut: map[string]bool{}, addrs: map[string]string{}, conns: map[string]map[net.Conn]struct{}{}}
}

// Register names the node behind a node port address.
func (f *Faults) Register(id, addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addrs[addr] = id
}

// Cut isolates node id from every other node.
func (f *Faults) Cut(id string) {
	f.mu.Lock()
	f.cut[id] = true
	var victims []net.Conn
	for c := range f.conns[id] {
		victims = append(victims, c)
	}
	f.mu.Unlock()
	for _, c := range victims {
		c.Close()
	}
}

// Heal reconnects node id.
func (f *Faults) Heal(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.cut, id)
}

// SetDelay delays every write between nodes by d (one-way latency).
func (f *Faults) SetDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

func (f *Faults) blocked(ids ...string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		if f.cut[id] {
			return true
		}
	}
	return false
}

// Listener wraps node id's node port listener.
func (f *Faults) Listener(id string, ln net.Listener) net.Listener {
	return &faultListener{Listener: ln, f: f, id: id}
}

// Dialer returns node id's dialer.
func (f *Faults) Dialer(id string) nodeport.DialFunc {
	d := &net.Dialer{}
	return func(ctx context.Context, addr string) (net.Conn, error) {
		f.mu.Lock()
		to := f.addrs[addr]
		f.mu.Unlock()
		if f.blocked(id, to) {
			return nil, ErrPartitioned
		}
		if err := f.dialThawed(ctx, id); err != nil {
			return nil, err
		}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return f.track(c, id, to), nil
	}
}

func (f *Faults) track(c net.Conn, ids ...string) net.Conn {
	fc := &faultConn{Conn: c, f: f, ids: ids, local: ids[0]}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		if id == "" {
			continue
		}
		if f.conns[id] == nil {
			f.conns[id] = map[net.Conn]struct{}{}
		}
		f.conns[id][fc] = struct{}{}
	}
	return fc
}

type faultListener struct {
	net.Listener
	f  *Faults
	id string
}

func (l *faultListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.f.blocked(l.id) {
			c.Close()
			continue
		}
		return l.f.track(c, l.id), nil
	}
}

type faultConn struct {
	net.Conn
	f    *Faults
	ids  []string
	once sync.Once
	// for freeze.go: the node owning this end, the deadlines, and
	// closed at Close
	local           string
	dlMu            sync.Mutex
	readDL, writeDL time.Time
	closed          chan struct{}
}

func (c *faultConn) Write(p []byte) (int, error) {
	if err := c.writeThawed(); err != nil {
		return 0, err
	}
	if c.f.blocked(c.ids...) {
		c.Close()
		return 0, ErrPartitioned
	}
	c.f.mu.Lock()
	d := c.f.delay
	c.f.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
	return c.Conn.Write(p)
}

func (c *faultConn) Close() error {
	c.once.Do(func() {
		c.markClosed()
		c.f.mu.Lock()
		for _, id := range c.ids {
			delete(c.f.conns[id], c)
		}
		c.f.mu.Unlock()
	})
	return c.Conn.Close()
}
