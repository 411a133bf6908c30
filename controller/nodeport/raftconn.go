package nodeport

import (
	"net"
	"sync"
	"time"
)

// raftConn is a connection RaftLayer dialled for Raft, which keeps up to
// three per peer in its pool and uses them one request at a time (the
// controller sets one RPC in flight). A peer that restarted closed its
// end of every one of them long ago, and Raft learns it only by spending
// a request on each: a candidate's pre-vote over such a connection gets
// EOF, and its round is lost (chaos seed 10064: a follower restarted 10 s
// before the leader froze; the other follower lost three rounds, one per
// pooled connection, 4.4 s, while the one it refused waited). So when a
// request begins (a write after the last answer was read) on a
// connection whose peer has closed it, raftConn puts a fresh one under
// it first: a spare, or a new dial. Raft's framing carries nothing from
// one request to the next, so the switch is invisible to it.
type raftConn struct {
	mu    sync.Mutex
	cur   net.Conn
	fresh func() (net.Conn, error) // a new connection to the same peer
	// answered: the last operation was a read, so the next write
	// begins a request.
	answered bool
	// The deadlines Raft set, applied again to a new connection.
	readDL, writeDL time.Time
}

func newRaftConn(c net.Conn, fresh func() (net.Conn, error)) *raftConn {
	return &raftConn{cur: c, fresh: fresh}
}

func (r *raftConn) conn() net.Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
}

// Write sends p, first replacing a connection whose peer closed it when
// p begins a request.
func (r *raftConn) Write(p []byte) (int, error) {
	r.mu.Lock()
	if r.answered {
		r.answered = false
		if !alive(r.cur) {
			if c, err := r.fresh(); err == nil {
				r.cur.Close()
				r.cur = c
			}
		}
		// alive's read, or the new connection, lost Raft's deadlines.
		_ = r.cur.SetReadDeadline(r.readDL)
		_ = r.cur.SetWriteDeadline(r.writeDL)
	}
	c := r.cur
	r.mu.Unlock()
	return c.Write(p)
}

func (r *raftConn) Read(p []byte) (int, error) {
	n, err := r.conn().Read(p)
	if n > 0 {
		r.mu.Lock()
		r.answered = true
		r.mu.Unlock()
	}
	return n, err
}

func (r *raftConn) Close() error { return r.conn().Close() }

func (r *raftConn) LocalAddr() net.Addr  { return r.conn().LocalAddr() }
func (r *raftConn) RemoteAddr() net.Addr { return r.conn().RemoteAddr() }

func (r *raftConn) SetDeadline(t time.Time) error {
	return r.setDeadline(true, true, t, net.Conn.SetDeadline)
}

func (r *raftConn) SetReadDeadline(t time.Time) error {
	return r.setDeadline(true, false, t, net.Conn.SetReadDeadline)
}

func (r *raftConn) SetWriteDeadline(t time.Time) error {
	return r.setDeadline(false, true, t, net.Conn.SetWriteDeadline)
}

// setDeadline remembers the deadline Raft set (read, write or both) and
// sets it on the connection under r.
func (r *raftConn) setDeadline(read, write bool, t time.Time, set func(net.Conn, time.Time) error) error {
	r.mu.Lock()
	if read {
		r.readDL = t
	}
	if write {
		r.writeDL = t
	}
	c := r.cur
	r.mu.Unlock()
	return set(c, t)
}
