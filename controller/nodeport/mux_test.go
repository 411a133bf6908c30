package nodeport

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// Closing the node port closes the connections it accepted, Raft's and
// forwarded proposals' alike, so that their readers on this node return
// and the peer sees the end at once rather than at its next write.
func TestMuxCloseClosesAcceptedConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := NewMux(ln, nil, nil, nil, slog.New(slog.DiscardHandler))
	rpcStarted, rpcDone := make(chan struct{}), make(chan error, 1)
	m.Serve(func(c net.Conn, _ []string) {
		close(rpcStarted)
		_, err := io.Copy(io.Discard, c) // a handler reading until the end
		rpcDone <- err
	})
	layer := m.RaftLayer(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	raftPeer, err := m.Dial(ctx, ln.Addr().String(), KindRaft)
	if err != nil {
		t.Fatal(err)
	}
	defer raftPeer.Close()
	accepted, err := layer.Accept()
	if err != nil {
		t.Fatal(err)
	}
	raftRead := make(chan error, 1)
	go func() { _, err := accepted.Read(make([]byte, 1)); raftRead <- err }()

	rpcPeer, err := m.Dial(ctx, ln.Addr().String(), KindRPC)
	if err != nil {
		t.Fatal(err)
	}
	defer rpcPeer.Close()
	select {
	case <-rpcStarted:
	case <-time.After(5 * time.Second):
		t.Fatal("the RPC handler never got the connection")
	}

	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]chan error{"raft reader": raftRead, "rpc handler": rpcDone} {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s still blocked 5s after the mux closed", name)
		}
	}
	for name, c := range map[string]net.Conn{"raft": raftPeer, "rpc": rpcPeer} {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Errorf("%s peer reads %v after the mux closed, want EOF", name, err)
		}
	}
}
