package node

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
)

// wan_rtt derives the Raft timeouts raft: leaves unset; those it sets
// stand.
func TestWANRTTDerivesTiming(t *testing.T) {
	file := filepath.Join(t.TempDir(), "node.yaml")
	if err := os.WriteFile(file, []byte("node_id: a\nwan_rtt: 260ms\nraft:\n  commit_timeout: 20ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tm, want := c.timing(), controller.WANTiming(260*time.Millisecond)
	if tm.HeartbeatTimeout != want.HeartbeatTimeout || tm.ElectionTimeout != want.ElectionTimeout ||
		tm.LeaderLeaseTimeout != want.LeaderLeaseTimeout || tm.StaleAfter != want.StaleAfter {
		t.Errorf("timing %+v, want WANTiming's %+v", tm, want)
	}
	if tm.HeartbeatTimeout <= controller.DefaultTiming.HeartbeatTimeout {
		t.Errorf("heartbeat timeout %s at 260 ms round trips: want above the default", tm.HeartbeatTimeout)
	}
	if tm.CommitTimeout != 20*time.Millisecond {
		t.Errorf("commit timeout %s: raft: sets it", tm.CommitTimeout)
	}
	ok := Config{Dev: true, DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", Spec: "x", WANRTT: c.WANRTT}
	if err := ok.Validate(); err != nil {
		t.Errorf("the derived timing is refused: %v", err)
	}
}
