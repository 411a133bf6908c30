package nodeport

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// listen listens on a loopback port.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// raftPeer serves a node port on ln and hands every Raft connection it
// accepts to the channel returned; the test's end closes the mux and
// those connections.
func raftPeer(t *testing.T, ln net.Listener, cfg *tls.Config, members Members, dial DialFunc) (*Mux, <-chan net.Conn) {
	t.Helper()
	m := NewMux(ln, cfg, members, dial, slog.New(slog.DiscardHandler))
	m.Serve(func(c net.Conn, _ []string) { c.Close() })
	layer := m.RaftLayer(nil)
	accepted := make(chan net.Conn, 32)
	go func() {
		for {
			c, err := layer.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		m.Close()
		for len(accepted) > 0 {
			(<-accepted).Close()
		}
	})
	return m, accepted
}

// waitSpare waits up to 5 s until m holds a spare to addr.
func waitSpare(t *testing.T, m *Mux, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		m.spare.mu.Lock()
		_, ok := m.spare.ready[addr]
		m.spare.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no spare connection to %s after 5s", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A node keeps a greeted Raft connection to each other member, so Raft's
// first message to a peer (a follower's pre-vote when its leader froze)
// does not wait for TCP, TLS and the hello: over a WAN that is three
// round trips of an election timeout of four. The spare carries Raft's
// bytes like any dialled connection; one whose peer went away, or
// greeted under another cluster ID, is not handed out.
func TestSpareConnectionsSkipTheHandshake(t *testing.T) {
	ca := testutil.NewCA(t)
	ac, ak := ca.Issue(t, "a")
	bc, bk := ca.Issue(t, "b")
	var aAddr, bAddr string
	members := func() []raft.Server { return servers("a", aAddr, "b", bAddr) }

	bLn := listen(t)
	bAddr = bLn.Addr().String()
	b, accepted := raftPeer(t, bLn, peerTLS(t, ca, bc, bk), members, nil)

	// a's dials cost 200 ms more, as a WAN's round trips would.
	const slow = 200 * time.Millisecond
	var dials atomic.Int32
	d := &net.Dialer{}
	slowDial := func(ctx context.Context, addr string) (net.Conn, error) {
		dials.Add(1)
		time.Sleep(slow)
		return d.DialContext(ctx, "tcp", addr)
	}
	aLn := listen(t)
	aAddr = aLn.Addr().String()
	a, _ := raftPeer(t, aLn, peerTLS(t, ca, ac, ak), members, slowDial)
	cluster := atomic.Pointer[string]{}
	cluster.Store(new(string))
	a.SetClusterID(func() string { return *cluster.Load() })
	a.KeepSpares("a")
	waitSpare(t, a, bAddr)
	if n := dials.Load(); n != 1 {
		t.Errorf("%d dials for one spare to one peer (a dials itself?)", n)
	}

	layer := a.RaftLayer(nil)
	start := time.Now()
	c, err := layer.Dial(raft.ServerAddress(bAddr), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took >= slow {
		t.Errorf("Raft's dial took %v with a spare ready: it dialled anew", took)
	}
	if _, err := c.Write([]byte("raft bytes")); err != nil {
		t.Fatal(err)
	}
	// b accepted the spare when it was dialled; the bytes arrive on it.
	got := make([]byte, len("raft bytes"))
	var peer net.Conn
	select {
	case peer = <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("b never handed the connection to Raft")
	}
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(peer, got); err != nil || string(got) != "raft bytes" {
		t.Fatalf("b read %q, %v", got, err)
	}
	c.Close()
	peer.Close()

	// Taking the spare had the next one dialled.
	waitSpare(t, a, bAddr)

	// A spare greeted before this node learnt its cluster ID is not
	// handed out once it has (the peer never saw the ID).
	id := "c-1234"
	cluster.Store(&id)
	if c := a.takeSpare(bAddr); c != nil {
		c.Close()
		t.Error("a spare greeted with no cluster ID was handed out after the node learnt one")
	}
	waitSpare(t, a, bAddr)

	// b goes away: its spare is dead, and Raft gets an error from a
	// fresh dial, not a connection nobody answers.
	b.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		a.spare.mu.Lock()
		s, ok := a.spare.ready[bAddr]
		a.spare.mu.Unlock()
		if !ok || !alive(s.c) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the spare to a closed peer still looks alive after 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if c, err := layer.Dial(raft.ServerAddress(bAddr), 2*time.Second); err == nil {
		c.Close()
		t.Error("Raft got a connection to a peer that is gone")
	}

	// Close stops the keeper and closes what it held (goleak checks the
	// goroutines in TestMain).
	a.Close()
	a.spare.mu.Lock()
	n := len(a.spare.ready)
	a.spare.mu.Unlock()
	if n != 0 {
		t.Errorf("%d spares left after Close", n)
	}
}
