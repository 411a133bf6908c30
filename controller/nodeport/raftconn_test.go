package nodeport

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// A pooled Raft connection whose peer closed its end (the peer
// restarted) is replaced when the next request begins, so the request
// reaches the peer over a new connection instead of failing with EOF.
func TestRaftConnReplacesAConnectionThePeerClosed(t *testing.T) {
	ln := listen(t)
	_, accepted := raftPeer(t, ln, nil, nil, nil)
	a, _ := raftPeer(t, listen(t), nil, nil, nil)

	c, err := a.RaftLayer(nil).Dial(raft.ServerAddress(ln.Addr().String()), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exchange := func(req string) (peer net.Conn) {
		t.Helper()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte(req)); err != nil {
			t.Fatalf("%s: write: %v", req, err)
		}
		select {
		case peer = <-accepted:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no connection reached the peer's Raft", req)
		}
		got := make([]byte, len(req))
		_ = peer.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(peer, got); err != nil || string(got) != req {
			t.Fatalf("%s: the peer read %q, %v", req, got, err)
		}
		if _, err := peer.Write([]byte("ok")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, got[:2]); err != nil || string(got[:2]) != "ok" {
			t.Fatalf("%s: answer %q, %v", req, got[:2], err)
		}
		return peer
	}
	first := exchange("request 1")
	first.Close() // the peer restarts: its end of the pooled connection is gone
	time.Sleep(100 * time.Millisecond)
	second := exchange("request 2")
	second.Close()
}
