package controller

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
)

// Chaos seed 5018: a spec apply acknowledged by one node (it waits until
// that node applied the spec's activation) was then called stale by
// another: that one's ReadIndex asked the leader, whose state machine
// had not applied the activation yet (it was waiting for the spec's
// compile), and got an index from before it. ReadIndex answers with
// everything the leader committed applied, so a read after a write
// acknowledged anywhere sees it. Here the leader's state machine is held
// on an override that a follower has applied.
func TestReadIndexCoversWhatFollowersApplied(t *testing.T) {
	var hold atomic.Pointer[string] // the node whose FSM holds overrides
	release := make(chan struct{})
	var seen sync.Map // node ID -> applied an override
	stores := openHookedCluster(t, func(id string) func(*Command) {
		return func(c *Command) {
			if c.Type != CmdSetOverride {
				return
			}
			if h := hold.Load(); h != nil && *h == id {
				<-release
			}
			seen.Store(id, true)
		}
	})
	var leader *Store
	testutil.Eventually(t, "a leader", 10*time.Second, func() bool { leader = leaderOf(stores); return leader != nil })
	for _, s := range stores {
		testutil.Eventually(t, "seeded", 10*time.Second, func() bool { return wwwAnswer(s) == "192.0.2.10" })
	}
	var followers []*Store
	for _, s := range stores {
		if s != leader {
			followers = append(followers, s)
		}
	}
	id := leader.ID()
	hold.Store(&id)
	released := sync.OnceFunc(func() { close(release) })
	defer released()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, _ = followers[0].Propose(ctx, &Command{Type: CmdSetOverride, Override: &Override{Kind: OverrideDrain, Target: "web-us-west", Reason: "test"}})
	}()
	testutil.Eventually(t, "the follower applied the override", 10*time.Second, func() bool {
		_, ok := seen.Load(followers[0].ID())
		return ok
	})
	applied := followers[0].AppliedIndex()
	time.AfterFunc(500*time.Millisecond, released) // the leader's FSM catches up
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	index, err := followers[1].ReadIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if index < applied {
		t.Errorf("ReadIndex %d, below the override %s applied at %d: a read after it would not see it", index, followers[0].ID(), applied)
	}
}

// openHookedCluster is openCluster with an apply hook per node.
func openHookedCluster(t *testing.T, hook func(id string) func(*Command)) []*Store {
	t.Helper()
	root := t.TempDir()
	var lns []net.Listener
	var peers []Peer
	for i := range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		peers = append(peers, Peer{ID: fmt.Sprintf("n%d", i), Address: ln.Addr().String()})
	}
	var stores []*Store
	for i := range 3 {
		s, err := OpenStore(StoreConfig{
			NodeID: peers[i].ID, Datacenter: fmt.Sprintf("dc%d", i), RaftAddr: peers[i].Address,
			DataDir: filepath.Join(root, peers[i].ID), Peers: peers, Listener: lns[i],
			Timing: fastTiming, Seed: contractSpec(t), Logger: slog.New(slog.DiscardHandler),
			ApplyHook: hook(peers[i].ID),
		})
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
		t.Cleanup(func() { s.Close() })
	}
	return stores
}
