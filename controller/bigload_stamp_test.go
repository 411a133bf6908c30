package controller

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

// TestRestamp: a command restamped is the command encoded with the new
// time, byte for byte; what does not start as Encode writes a command
// of a known type is left to the full decode.
func TestRestamp(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 21, 0, 0, 123, time.UTC)
	t1 := time.Date(2026, 12, 1, 21, 0, 1, 456789, time.UTC)
	big := &SetSpec{YAMLGzip: []byte(strings.Repeat("h1 IN A 10.0.0.1\n", 100000)), Author: "seed \"from\" n1"}
	for _, c := range []*Command{
		{Type: CmdSetSpec, Time: t0, ID: "x", Spec: big},
		{Type: CmdSetSpec, Spec: big},
		{Type: CmdHeartbeat, Time: t0, Beat: &Heartbeat{Check: "c"}},
	} {
		data, err := c.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, ok := restamp(data, t1)
		c2 := *c
		c2.Time = t1
		want, _ := c2.Encode()
		if !ok || !bytes.Equal(got, want) {
			t.Fatalf("%s: restamped %v, %.80s; want %.80s", c.Type, ok, got, want)
		}
	}
	for _, bad := range []string{`{"type":"no_such","time":"2026-12-01T21:00:00Z"}`, `{"time":"2026-12-01T21:00:00Z","type":"set_spec"}`, `{"type":"set_spec"}`, `[]`} {
		if _, ok := restamp([]byte(bad), t1); ok {
			t.Errorf("%s: restamped; want it left to the decode", bad)
		}
	}
	var o ownEncoded
	data := bytes.Repeat([]byte("x"), stampAbove+1)
	o.keep(data)
	if o.take(bytes.Clone(data)) || !o.take(data) || o.take(data) {
		t.Fatal("take: want only the very slice kept, once")
	}
	o.keep([]byte("small"))
	if o.data != nil {
		t.Fatal("a small command kept")
	}
}

// TestOwnBigProposalApplies: a spec whose command is over stampAbove,
// proposed on the leader, is stamped without a decode and put in force
// whole.
func TestOwnBigProposalApplies(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore(StoreConfig{NodeID: "n0", RaftAddr: ln.Addr().String(), Listener: ln, DataDir: t.TempDir(),
		Timing: fastTiming, Seed: contractSpec(t), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	testutil.Eventually(t, "seeded", 10*time.Second, func() bool { return wwwAnswer(s) != "" })
	sp := contractSpec(t)
	var zone strings.Builder
	r := rand.New(rand.NewPCG(3, 4))
	const records = 60000
	for i := range records {
		fmt.Fprintf(&zone, "r%d IN TXT \"%016x%016x\"\n", i, r.Uint64(), r.Uint64())
	}
	sp.Zones = append(sp.Zones, spec.Zone{Name: "rand.test.", SOA: &spec.SOA{MName: "ns1.rand.test.", RName: "h.rand.test."},
		Nameservers: []string{"ns1.rand.test."}, Static: zone.String()})
	yaml, err := sp.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if gz, _ := gzipText(yaml); len(gz)*4/3 <= stampAbove {
		t.Fatalf("the command carries %d bytes of gzip: want it past %d in base64", len(gz), stampAbove)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Propose(ctx, &Command{Type: CmdSetSpec, Spec: &SetSpec{YAML: yaml}}); err != nil {
		t.Fatal(err)
	}
	if s.ownEncoded.data != nil {
		t.Fatal("the big proposal was not taken by stamp")
	}
	held, _ := s.FSM().Spec()
	cz := held.ZoneFor("r1.rand.test.")
	if cz == nil || cz.Name != "rand.test." || cz.StaticCount() != records+1 {
		t.Fatalf("zone in force %v: want rand.test. with %d records", cz, records+1)
	}
}
