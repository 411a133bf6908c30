package node

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
)

const clusterTestSpec = `zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: |
      ns1 IN A 127.0.0.1
datacenters: [{name: a}, {name: b}]
pools: [{name: pa, datacenter: a, endpoints: [{address: 192.0.2.1}]}]
records:
  - {name: www.example.test, type: A, pools: [pa]}
`

// plainNode is a plaintext node on loopback, logging to its own buffer.
type plainNode struct {
	id, addr, dataDir string
	ln                net.Listener
	log               *lockedBuffer
	n                 *Node
}

func newPlainNode(t *testing.T, id, dataDir string) *plainNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &plainNode{id: id, addr: ln.Addr().String(), dataDir: dataDir, ln: ln, log: &lockedBuffer{}}
}

// start starts the node with peers (id@addr of each), giving it a fresh
// listener on its address after a first run.
func (p *plainNode) start(t *testing.T, peers ...*plainNode) error {
	t.Helper()
	if p.ln == nil {
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		p.ln = ln
	}
	specFile := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(specFile, []byte(clusterTestSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	var ps []Peer
	for _, q := range peers {
		ps = append(ps, Peer{ID: q.id, Address: q.addr})
	}
	n, err := Start(Config{NodeID: p.id, Datacenter: "a", RaftAddr: p.addr, Peers: ps, Deps: Deps{Listener: p.ln},
		DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", DataDir: p.dataDir, Spec: specFile, Timing: DevTiming,
		Insecure: true}, // a plaintext node port on loopback
		slog.New(slog.NewTextHandler(p.log, nil)))
	p.ln = nil // Start owns it now, and closes it on failure
	if err != nil {
		return err
	}
	p.n = n
	t.Cleanup(func() { p.stop() })
	return nil
}

func (p *plainNode) stop() {
	if p.n != nil {
		p.n.Close(context.Background())
		p.n = nil
	}
}

// clusterID waits for the node to know its cluster's ID.
func (p *plainNode) clusterID(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if id := p.n.Store().ClusterID(); id != "" {
			return id
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s learnt no cluster ID within 15s:\n%s", p.id, tail(p.log.String(), 3000))
	return ""
}

// waitLog waits for the node's log to say want.
func (p *plainNode) waitLog(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(p.log.String(), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never logged %q:\n%s", p.id, want, tail(p.log.String(), 3000))
}

// A node started on another cluster's data dir is refused, with what to
// do: when its ID is not in that data dir's Raft configuration, and when
// its configured peers belong to another cluster than the data dir's.
// With a fresh data dir instead, it does not bootstrap a cluster of its
// own, and takes the cluster's ID once added.
func TestNodeRefusesAnotherClustersDataDir(t *testing.T) {
	real := newPlainNode(t, "n-1", filepath.Join(t.TempDir(), "n-1"))
	if err := real.start(t, real); err != nil {
		t.Fatal(err)
	}
	realID := real.clusterID(t)
	// A cluster of its own, bootstrapped alone, then stopped: its data
	// dir is the foreign one.
	foreign := newPlainNode(t, "n-2", filepath.Join(t.TempDir(), "n-2"))
	if err := foreign.start(t, foreign); err != nil {
		t.Fatal(err)
	}
	foreignID := foreign.clusterID(t)
	foreign.stop()
	if foreignID == realID {
		t.Fatalf("two clusters bootstrapped apart share ID %s", realID)
	}

	// n-2 configured as a member of the real cluster, on the foreign
	// data dir: its peer n-1 says it is of another cluster.
	err := foreign.start(t, real, foreign)
	if !errors.Is(err, controller.ErrOtherCluster) {
		t.Fatalf("started on another cluster's data dir: %v", err)
	}
	for _, want := range []string{"data dir " + foreign.dataDir + " belongs to cluster " + foreignID + " (members n-2)",
		"peer n-1@" + real.addr + " belongs to cluster " + realID, "move the data dir away"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q: %v", want, err)
		}
	}
	real.waitLog(t, "peer_cluster="+foreignID)

	// Another node ID on that data dir, with no peer to vouch for it:
	// not among its members.
	other := newPlainNode(t, "n-3", foreign.dataDir)
	err = other.start(t, other)
	if !errors.Is(err, controller.ErrOtherCluster) || !strings.Contains(err.Error(), "n-3 is not among its members") {
		t.Fatalf("n-3 on n-2's data dir: %v", err)
	}

	// A fresh data dir: the peers' cluster runs, so no bootstrap; once
	// added, the node holds the real cluster's ID.
	fresh := newPlainNode(t, "n-4", filepath.Join(t.TempDir(), "n-4"))
	if err := fresh.start(t, real, fresh); err != nil {
		t.Fatal(err)
	}
	fresh.waitLog(t, "not bootstrapping")
	if strings.Contains(fresh.log.String(), "bootstrapped a new cluster") {
		t.Errorf("a node its peers' cluster will adopt says it bootstrapped one:\n%s", fresh.log.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := real.n.Store().AddNonvoter(ctx, fresh.id, fresh.addr); err != nil {
		t.Fatal(err)
	}
	if got := fresh.clusterID(t); got != realID {
		t.Errorf("the adopted node holds cluster %s, want %s", got, realID)
	}
	if got, _ := controller.ReadClusterID(fresh.dataDir); got != realID {
		t.Errorf("the adopted node's data dir holds cluster %q, want %s", got, realID)
	}
}

// A cluster bootstrapped apart is not absorbed when a member of another
// adds it: both ends refuse the node-port connection and say why, and
// the lone node keeps leading its own cluster with its own state.
func TestClusterDoesNotAbsorbAnother(t *testing.T) {
	real := newPlainNode(t, "n-1", filepath.Join(t.TempDir(), "n-1"))
	if err := real.start(t, real); err != nil {
		t.Fatal(err)
	}
	realID := real.clusterID(t)
	lone := newPlainNode(t, "l-1", filepath.Join(t.TempDir(), "l-1"))
	if err := lone.start(t, lone); err != nil {
		t.Fatal(err)
	}
	loneID := lone.clusterID(t)
	waitReady(t, lone.n.APIAddr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := real.n.Store().AddNonvoter(ctx, lone.id, lone.addr); err != nil {
		t.Fatal(err)
	}
	real.waitLog(t, "peer_cluster="+loneID)
	lone.waitLog(t, "peer_cluster="+realID)
	real.waitLog(t, "it belongs to another cluster")
	// Give the real leader time to try replicating, then check nothing
	// of it reached the lone node.
	time.Sleep(time.Second)
	if !lone.n.Store().IsLeader() {
		t.Error("the lone node no longer leads its own cluster")
	}
	members, err := lone.n.Store().Members()
	if err != nil || len(members) != 1 || members[0].ID != "l-1" {
		t.Errorf("the lone node's members are %+v (%v), want itself alone", members, err)
	}
	applied := lone.n.Store().FSM().View().ClusterID()
	if applied != loneID {
		t.Errorf("the lone node's replicated cluster ID is %s, want its own %s", applied, loneID)
	}
}

// Three nodes bootstrapped together over mutual TLS end up with one
// cluster ID, the same in each data dir, drawn by their first leader.
func TestClusterBootstrappedTogetherSharesOneID(t *testing.T) {
	c := startTLSCluster(t)
	deadline := time.Now().Add(15 * time.Second)
	var ids []string
	for {
		ids = ids[:0]
		for _, n := range c.nodes {
			ids = append(ids, n.Store().ClusterID())
		}
		if ids[0] != "" && ids[0] == ids[1] && ids[1] == ids[2] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the nodes hold cluster IDs %q within 15s", ids)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, n := range c.nodes {
		if got, err := controller.ReadClusterID(n.cfg.DataDir); err != nil || got != ids[0] {
			t.Errorf("%s's data dir holds %q (%v), want %s", n.cfg.NodeID, got, err, ids[0])
		}
	}
	if strings.Contains(c.logs.String(), "belongs to another cluster") {
		t.Errorf("members of one cluster refused each other:\n%s", c.logs.String())
	}
}
