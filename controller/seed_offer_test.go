package controller

import (
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

// TestSeedSpecNotParsedAgain: three nodes started with the same --spec
// each put in force the spec they loaded themselves (its compiled zones,
// not a parse of the replicated text), leader and followers alike, and
// the spec in force reads back as the text replicated.
func TestSeedSpecNotParsedAgain(t *testing.T) {
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
	seeds := make([]*spec.Spec, 3)
	stores := make([]*Store, 3)
	for i := range 3 {
		seeds[i] = contractSpec(t)
		s, err := OpenStore(StoreConfig{
			NodeID: peers[i].ID, Datacenter: fmt.Sprintf("dc%d", i), RaftAddr: peers[i].Address,
			DataDir: filepath.Join(root, peers[i].ID), Peers: peers, Listener: lns[i],
			Timing: fastTiming, Seed: seeds[i], Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = s
		t.Cleanup(func() { s.Close() })
	}
	for _, s := range stores {
		testutil.Eventually(t, "seeded", 10*time.Second, func() bool { return wwwAnswer(s) == "192.0.2.10" })
	}
	want, err := seeds[0].Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		held, _ := s.FSM().Spec()
		if held == nil || len(held.CompiledZones()) == 0 {
			t.Fatalf("%s holds no compiled spec", peers[i].ID)
		}
		if held.CompiledZones()[0] != seeds[i].CompiledZones()[0] {
			t.Errorf("%s (leader %v): the spec in force was parsed again, not the node's own seed", peers[i].ID, s.IsLeader())
		}
		if !s.HeldIsSeed(held) {
			t.Errorf("%s: HeldIsSeed says the spec in force is not made of the seed", peers[i].ID)
		}
		if s.HeldIsSeed(seeds[i]) || s.HeldIsSeed(seeds[(i+1)%3].Inlined()) || s.HeldIsSeed(nil) {
			t.Errorf("%s: HeldIsSeed says yes of a spec the replica does not hold", peers[i].ID)
		}
		got, err := held.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s: the spec in force marshals otherwise than the seed", peers[i].ID)
		}
		for _, z := range held.Zones {
			if z.File != "" || z.FileText != "" {
				t.Errorf("%s: zone %s in force names a file (%q): want the self-contained form", peers[i].ID, z.Name, z.File)
			}
		}
	}
}
