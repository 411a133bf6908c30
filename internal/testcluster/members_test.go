package testcluster

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/node"
)

// addNode starts a node that is not among the initial peers: it waits to
// be added.
func (c *Cluster) addNode(t *testing.T, id, dc string) *Member {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.Faults.Register(id, ln.Addr().String())
	m := &Member{ID: id, DC: dc, SourceIP: fmt.Sprintf("127.0.0.%d", 30+len(c.Members)), Site: c.Member(dc).Site}
	m.cfg = c.Members[0].cfg
	m.cfg.NodeID, m.cfg.Datacenter, m.cfg.RaftAddr = id, dc, ln.Addr().String()
	m.cfg.DataDir = filepath.Join(c.root, id)
	m.cfg.Dial, m.cfg.SourceIP = c.Faults.Dialer(id), net.ParseIP(m.SourceIP)
	c.start(m, ln, slog.New(slog.DiscardHandler))
	c.Members = append(c.Members, m)
	return m
}

// A node added as a non-voter replicates and serves the same answers but
// does not vote on health; a lost voter is replaced by a new one.
func TestMembersAddAndReplace(t *testing.T) {
	c := New(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	replica := c.addNode(t, "us-east-2", "us-east")
	if got := c.Answer(replica); got == Answers["us-east"] {
		t.Fatalf("a node nobody added already answers %s", got)
	}
	if err := c.Members[1].Node.Store().AddNonvoter(ctx, replica.ID, replica.cfg.RaftAddr); err != nil {
		t.Fatal(err)
	}
	c.WaitAnswer(replica, Answers["us-east"], 10*time.Second)
	members, err := c.Leader().Node.Store().Members()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if m.ID == replica.ID && m.Voter {
			t.Errorf("%s was added as a voter", m.ID)
		}
	}
	// Its engine does not vote: a site down for it alone and one other
	// observer moves nothing (1 of 3 voters).
	c.Member("us-east").Site.BlockFrom(replica.SourceIP, true)
	c.Member("us-east").Site.BlockFrom(c.Member("eu-west").SourceIP, true)
	time.Sleep(1500 * time.Millisecond)
	if got := c.Answer(c.Leader()); got != Answers["us-east"] {
		t.Errorf("a non-voter's verdict counted: leader answers %s", got)
	}
	c.Member("us-east").Site.BlockFrom(c.Member("eu-west").SourceIP, false)

	// eu-west is lost for good: remove it, add a replacement voter.
	c.KillDC("eu-west")
	leader := c.Leader()
	if err := leader.Node.Store().RemoveServer(ctx, "eu-west-1"); err != nil {
		t.Fatal(err)
	}
	repl := c.addNode(t, "eu-west-2", "us-west")
	if err := leader.Node.Store().AddVoter(ctx, repl.ID, repl.cfg.RaftAddr); err != nil {
		t.Fatal(err)
	}
	c.WaitAnswer(repl, Answers["us-east"], 10*time.Second)
	members, _ = leader.Node.Store().Members()
	voters := 0
	for _, m := range members {
		if m.Voter {
			voters++
		}
	}
	if voters != 3 {
		t.Errorf("%d voters after the replacement: %+v", voters, members)
	}
	c.CheckInvariants()
	_ = node.Config{}
}
