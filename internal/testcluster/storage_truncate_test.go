package testcluster

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// appendFailingLog fails appends while fail is set, as on a full disk,
// and lets deletions through: they free space (bbolt).
// It counts the entries stored.
type appendFailingLog struct {
	raft.LogStore
	fail   atomic.Bool
	stored atomic.Int64
}

func (f *appendFailingLog) StoreLog(l *raft.Log) error { return f.StoreLogs([]*raft.Log{l}) }

func (f *appendFailingLog) StoreLogs(ls []*raft.Log) error {
	if f.fail.Load() {
		return errDiskFull
	}
	err := f.LogStore.StoreLogs(ls)
	if err == nil {
		f.stored.Add(int64(len(ls)))
	}
	return err
}

// A deposed leader holds entries nobody else has. When the new leader's
// entries came, it deleted its conflicting suffix, failed to store the new
// ones (its disk was full), and hashicorp/raft kept the deleted suffix's
// last index as its own: every later append asked for an entry that no
// longer existed, and the node stayed behind for good after its disk was
// freed (chaos seed 5002: applied index one behind for over 60 s). Now a
// suffix is deleted only together with a successful store of what
// replaces it, and the node catches up once it has room.
func TestFullDiskTruncationCatchesUp(t *testing.T) {
	logs := map[string]*appendFailingLog{}
	c := New(t, Options{Configure: func(m *Member, cfg *node.Config) {
		l := &appendFailingLog{}
		logs[m.ID] = l
		cfg.WrapLogStore = func(s raft.LogStore) raft.LogStore {
			l.LogStore = s
			return l
		}
	}})
	old := c.Leader()
	before := logs[old.ID].stored.Load()
	c.Faults.Cut(old.ID)
	// Entries only the deposed leader gets: the write cannot commit.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, _ = old.Node.Store().Propose(ctx, &controller.Command{Type: controller.CmdSetOverride, Override: &controller.Override{
		Kind: controller.OverrideDrain, Target: "eu-west", Reason: "lost", Author: "test"}})
	cancel()
	if after := logs[old.ID].stored.Load(); after <= before {
		t.Fatalf("the cut-off leader did not append the write (%d entries stored, %d before)", after, before)
	}
	var leader *Member
	testutil.Eventually(t, "a new leader", 15*time.Second, func() bool {
		leader = c.Leader()
		return leader != nil && leader != old
	})
	// The majority commits entries of its own over the deposed suffix.
	for _, dc := range []string{"us-west", "us-east"} {
		if err := c.Propose(leader, &controller.Command{Type: controller.CmdSetOverride, Override: &controller.Override{
			Kind: controller.OverrideDrain, Target: dc, Reason: "kept", Author: "test"}}); err != nil {
			t.Fatal(err)
		}
	}
	logs[old.ID].fail.Store(true)
	c.Faults.Heal(old.ID)
	time.Sleep(2 * time.Second) // the new leader's appends meet the full disk
	logs[old.ID].fail.Store(false)
	want := leader.Node.Store().AppliedIndex()
	testutil.Eventually(t, old.ID+" to catch up after its disk was freed", 20*time.Second, func() bool {
		return old.Node.Store().AppliedIndex() >= want
	})
	c.CheckInvariants()
}
