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

// A node of the same CA that bootstrapped a cluster of its own refuses
// the leader's certificate (TLS 1.3 tells the dialler on its first
// read): `members add` says the node fails the TLS check and why a node
// of another cluster does, rather than "nothing answers ... check the
// firewall".
func TestJoinOfAnotherClustersNodeNamesTheCause(t *testing.T) {
	c := startTLSCluster(t)
	addr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	cert, key := c.ca.Issue(t, "x-1")
	lone, err := Start(Config{NodeID: "x-1", Datacenter: "a", RaftAddr: addr, Peers: []Peer{{ID: "x-1", Address: addr}},
		DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", DataDir: filepath.Join(t.TempDir(), "x-1"), Spec: c.nodes[0].cfg.Spec,
		TLSCA: c.ca.CAFile, TLSCert: cert, TLSKey: key, Timing: steadyTiming}, slog.New(slog.NewTextHandler(c.logs, nil)).With("node", "x-1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lone.Close(context.Background()) })
	testutil.Eventually(t, "the lone node to lead its own cluster", 30*time.Second, lone.Store().IsLeader)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	via := c.nodes[c.follower(t)].Store()
	_, err = via.Join(ctx, controller.JoinRequest{ID: "x-1", Addr: addr, Voter: false, Author: "alice"})
	if !errors.Is(err, controller.ErrUnreachable) {
		t.Fatalf("join of another cluster's node: %v, want a refusal", err)
	}
	for _, want := range []string{"answers but fails the TLS check", "bootstrapped a cluster of its own"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal lacks %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "nothing answers") {
		t.Errorf("the refusal says nothing answers: %v", err)
	}
}
