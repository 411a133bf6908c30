package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// startJoiner starts a node that waits to be added, with the certificate
// issued for certName.
func (c *tlsCluster) startJoiner(t *testing.T, id, certName string) (*Node, string) {
	t.Helper()
	var peers []Peer
	for i, pid := range c.ids {
		peers = append(peers, Peer{ID: pid, Address: c.addrs[i]})
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	cert, key := c.ca.Issue(t, certName)
	n, err := Start(Config{NodeID: id, Datacenter: "a", RaftAddr: addr, Peers: peers,
		DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", DataDir: filepath.Join(t.TempDir(), id), Spec: c.nodes[0].cfg.Spec,
		TLSCA: c.ca.CAFile, TLSCert: cert, TLSKey: key, Timing: steadyTiming}, slog.New(slog.NewTextHandler(c.logs, nil)).With("node", id))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	return n, addr
}

// Over mutual TLS, a join is checked with the real handshake: a node
// whose certificate names another node is refused before it is added; a
// node with its own certificate joins as a non-voter and is promoted.
func TestJoinOverTLSChecksTheNode(t *testing.T) {
	c := startTLSCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	via := c.nodes[c.follower(t)].Store()

	// e-1 runs with its own certificate (a node refuses to start with
	// another node's); the join names it d-1.
	_, wrongAddr := c.startJoiner(t, "e-1", "e-1")
	_, err := via.Join(ctx, controller.JoinRequest{ID: "d-1", Addr: wrongAddr, Voter: true, Force: true, Author: "alice"})
	if !errors.Is(err, controller.ErrUnreachable) || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("a node whose certificate names e-1 at d-1's address: %v, want a TLS refusal", err)
	}
	t.Logf("refused: %v", err)

	n, addr := c.startJoiner(t, "d-2", "d-2")
	msg, err := via.Join(ctx, controller.JoinRequest{ID: "d-2", Addr: addr, Voter: true, Force: true, Author: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(msg)
	for !n.Store().IsVoter("d-2") {
		if ctx.Err() != nil {
			t.Fatal("d-2 was not promoted over TLS")
		}
		time.Sleep(50 * time.Millisecond)
	}
	ms, q := c.nodes[c.leader(t)].Store().MembersHealth(ctx)
	if q.Voters != 4 {
		t.Errorf("quorum after the promotion: %+v", q)
	}
	for _, m := range ms {
		if m.ID == "d-1" {
			t.Error("the refused node is a member")
		}
	}
}
