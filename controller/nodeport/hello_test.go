package nodeport

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

type logSink struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// plainMux serves a plaintext node port stating cluster id; accepted
// forwarding connections are counted.
func plainMux(t *testing.T, id string) (*Mux, *logSink, chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := &logSink{}
	m := NewMux(ln, nil, func() []raft.Server { return nil }, nil, slog.New(slog.NewTextHandler(log, nil)))
	m.SetClusterID(func() string { return id })
	accepted := make(chan struct{}, 4)
	m.Serve(func(c net.Conn, _ []string) {
		accepted <- struct{}{}
		c.Close()
	})
	t.Cleanup(func() { m.Close() })
	return m, log, accepted
}

// Two nodes of different clusters refuse each other's node-port
// connections, and both say why; a node that knows no cluster yet, and
// one of the same cluster, get through.
func TestHelloRefusesAnotherCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a, aLog, aAccepted := plainMux(t, "c-aaaa")
	b, bLog, _ := plainMux(t, "c-bbbb")
	_, err := b.Dial(ctx, a.Addr().String(), KindRPC)
	if !errors.Is(err, ErrOtherCluster) || !strings.Contains(err.Error(), "is of cluster c-aaaa, this node of cluster c-bbbb") {
		t.Fatalf("dialling another cluster's node: %v", err)
	}
	if !strings.Contains(bLog.String(), "peer_cluster=c-aaaa cluster=c-bbbb") {
		t.Errorf("the dialling node does not say why:\n%s", bLog.String())
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(aLog.String(), "peer_cluster=c-bbbb cluster=c-aaaa") {
		if time.Now().After(deadline) {
			t.Fatalf("the accepting node does not say why:\n%s", aLog.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-aAccepted:
		t.Fatal("the other cluster's connection reached the RPC handler")
	default:
	}
	for _, id := range []string{"", "c-aaaa"} {
		c, _, _ := plainMux(t, id)
		conn, err := c.Dial(ctx, a.Addr().String(), KindRPC)
		if err != nil {
			t.Fatalf("a node of cluster %q: %v", id, err)
		}
		conn.Close()
		select {
		case <-aAccepted:
		case <-time.After(5 * time.Second):
			t.Fatalf("a node of cluster %q never reached the RPC handler", id)
		}
	}
	if got, err := b.ProbeCluster(ctx, "", a.Addr().String()); got != "c-aaaa" || !errors.Is(err, ErrOtherCluster) {
		t.Errorf("probe = %q, %v", got, err)
	}
}
