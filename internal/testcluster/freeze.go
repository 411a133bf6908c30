package testcluster

import (
	"context"
	"net"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/seed3787e6f1/detour/controller"
)

// freezer holds the nodes frozen as a paused process looks to the rest
// of the cluster (SIGSTOP, a paused VM): their reads, writes and dials,
// and the writes to their Raft log, wait with no error until they thaw;
// others still connect and write to them, and wait for an answer.
type freezer struct {
	mu     sync.Mutex
	frozen map[string]chan struct{} // closed at thaw
}

// gate returns a channel that closes when none of ids is frozen any
// more, or nil when none is frozen now.
func (z *freezer) gate(ids ...string) <-chan struct{} {
	z.mu.Lock()
	defer z.mu.Unlock()
	for _, id := range ids {
		if ch := z.frozen[id]; ch != nil {
			return ch
		}
	}
	return nil
}

// waitThaw blocks while any of ids is frozen, or until stop closes or
// deadline passes (zero: none); it reports whether the node thawed.
func (z *freezer) waitThaw(stop <-chan struct{}, deadline time.Time, ids ...string) bool {
	for {
		g := z.gate(ids...)
		if g == nil {
			return true
		}
		var timeout <-chan time.Time
		if !deadline.IsZero() {
			tm := time.NewTimer(time.Until(deadline))
			defer tm.Stop()
			timeout = tm.C
		}
		select {
		case <-g:
		case <-stop:
			return false
		case <-timeout:
			return false
		}
	}
}

func (z *freezer) freeze(key string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.frozen == nil {
		z.frozen = map[string]chan struct{}{}
	}
	if z.frozen[key] == nil {
		z.frozen[key] = make(chan struct{})
	}
}

func (z *freezer) thaw(key string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if ch := z.frozen[key]; ch != nil {
		close(ch)
		delete(z.frozen, key)
	}
}

// logKey names the freeze of a node's Raft log, apart from its links.
func logKey(id string) string { return "log:" + id }

// Freeze stops node id's Raft log writes and links until Thaw.
func (f *Faults) Freeze(id string) {
	f.z.freeze(logKey(id))
	f.z.freeze(id)
}

// Thaw lets node id run on from where it stood.
func (f *Faults) Thaw(id string) {
	f.z.thaw(id)
	f.z.thaw(logKey(id))
}

// frozenLog is a node's Raft log store whose writes wait while the node
// is frozen: Raft's main loop stands still at its next append, so a
// frozen leader neither steps down nor learns anything until it thaws.
type frozenLog struct {
	raft.LogStore
	z  *freezer
	id string
}

func (l frozenLog) StoreLog(e *raft.Log) error {
	l.z.waitThaw(nil, time.Time{}, logKey(l.id))
	return l.LogStore.StoreLog(e)
}

func (l frozenLog) StoreLogs(es []*raft.Log) error {
	l.z.waitThaw(nil, time.Time{}, logKey(l.id))
	return l.LogStore.StoreLogs(es)
}

// wrapLog puts the freeze under node id's log store, over inner (a
// test's own wrapper, or nil).
func (f *Faults) wrapLog(id string, inner func(raft.LogStore) raft.LogStore) func(raft.LogStore) raft.LogStore {
	return func(s raft.LogStore) raft.LogStore {
		if inner != nil {
			s = inner(s)
		}
		return frozenLog{LogStore: s, z: &f.z, id: id}
	}
}

// dialThawed waits while the dialing node is frozen. A dial to a frozen
// node succeeds, as the kernel of a stopped process still accepts.
func (f *Faults) dialThawed(ctx context.Context, id string) error {
	if !f.z.waitThaw(ctx.Done(), time.Time{}, id) {
		return ctx.Err()
	}
	return nil
}

// Read implements net.Conn: a frozen node reads nothing until it thaws
// (what others write waits in its socket buffer meanwhile).
func (c *faultConn) Read(p []byte) (int, error) {
	c.dlMu.Lock()
	dl := c.readDL
	c.dlMu.Unlock()
	if !c.f.z.waitThaw(c.closedCh(), dl, c.local) {
		return 0, os.ErrDeadlineExceeded
	}
	return c.Conn.Read(p)
}

// writeThawed waits while the node writing on c is frozen, until the
// write deadline or c's close.
func (c *faultConn) writeThawed() error {
	c.dlMu.Lock()
	dl := c.writeDL
	c.dlMu.Unlock()
	if !c.f.z.waitThaw(c.closedCh(), dl, c.local) {
		return os.ErrDeadlineExceeded
	}
	return nil
}

func (c *faultConn) closedCh() <-chan struct{} {
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	if c.closed == nil {
		c.closed = make(chan struct{})
	}
	return c.closed
}

// SetDeadline implements net.Conn, keeping the deadlines for I/O held
// by a freeze.
func (c *faultConn) SetDeadline(t time.Time) error {
	c.dlMu.Lock()
	c.readDL, c.writeDL = t, t
	c.dlMu.Unlock()
	return c.Conn.SetDeadline(t)
}

// SetReadDeadline implements net.Conn (see SetDeadline).
func (c *faultConn) SetReadDeadline(t time.Time) error {
	c.dlMu.Lock()
	c.readDL = t
	c.dlMu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

// SetWriteDeadline implements net.Conn (see SetDeadline).
func (c *faultConn) SetWriteDeadline(t time.Time) error {
	c.dlMu.Lock()
	c.writeDL = t
	c.dlMu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

// markClosed releases a write held by a freeze; Close calls it once.
func (c *faultConn) markClosed() {
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	if c.closed == nil {
		c.closed = make(chan struct{})
	}
	close(c.closed)
}

// Freeze pauses member m for d, as SIGSTOP would look to the rest of the
// cluster: its Raft log writes and its links stop with no error, so a
// leader stays leader in its own eyes while the others elect another,
// and resumes from where it stood. Its DNS server keeps answering from
// its state, so a test sees what it would answer on resuming.
func (c *Cluster) Freeze(m *Member, d time.Duration) {
	c.t.Helper()
	c.Faults.z.freeze(logKey(m.ID))
	defer c.Faults.Thaw(m.ID)
	// One append holds Raft's main loop in the frozen log store before
	// its lease can expire: the leader cannot step down meanwhile.
	ctx, cancel := context.WithTimeout(context.Background(), d+10*time.Second)
	defer cancel()
	go func() {
		_, _ = m.Node.Store().Propose(ctx, &controller.Command{Type: controller.CmdObserverReport,
			Report: &controller.ObserverReport{Observer: m.ID}})
	}()
	time.Sleep(20 * time.Millisecond)
	c.Faults.z.freeze(m.ID)
	time.Sleep(d)
}

var _ net.Conn = (*faultConn)(nil)
