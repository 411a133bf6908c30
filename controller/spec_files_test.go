package controller

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

// extraAnswer is what s answers for extra.example.test A.
func extraAnswer(s *Store) string {
	snap := s.FSM().Answers()
	if snap == nil {
		return ""
	}
	m := snap.Lookup("extra.example.test.", dns.TypeA)
	if len(m.Answer) == 0 {
		return "none"
	}
	return m.Answer[0].(*dns.A).A.String()
}

// The audit: applying or restoring a spec re-read `file:` on each
// replica, so replicas whose files differed served different answers at
// the same spec version (192.0.2.222 on one, 192.0.2.111 on the others).
// Now a spec carrying a path is refused by every replica alike, and the
// spec the CLI sends carries the zone's bytes: a replica that restarts
// and replays the log after the file changed still serves what was
// applied.
func TestReplicasApplyTheSpecsBytesNotFiles(t *testing.T) {
	stores, follower := seededCluster(t)
	dir := t.TempDir()
	zoneFile := filepath.Join(dir, "extra.zone")
	if err := os.WriteFile(zoneFile, []byte("extra IN A 192.0.2.111\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	contract, err := os.ReadFile("../examples/contract/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	withFile := strings.Replace(string(contract), "    static: |", "    file: "+zoneFile+"\n    static: |", 1)
	if withFile == string(contract) {
		t.Fatal("the contract spec has no static: to put a file beside")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// A path proposed as is (a forwarded command, an old client) is
	// refused where it applies, on every replica.
	_, before := follower.FSM().Spec()
	_, err = follower.Propose(ctx, &Command{Type: CmdSetSpec, Spec: &SetSpec{YAML: []byte(withFile)}})
	if !errors.Is(err, spec.ErrInvalid) || !strings.Contains(err.Error(), "zones[0].file") {
		t.Fatalf("a spec naming a file: %v", err)
	}
	for _, s := range stores {
		if _, v := s.FSM().Spec(); v != before || extraAnswer(s) != "none" {
			t.Errorf("a refused spec changed a replica: version %d (was %d), extra answers %s", v, before, extraAnswer(s))
		}
	}

	// What the CLI sends: loaded locally, the file's text inlined.
	specFile := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(specFile, []byte(strings.Replace(withFile, zoneFile, "extra.zone", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := spec.Load(specFile)
	if err != nil {
		t.Fatal(err)
	}
	y, err := loaded.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := follower.Propose(ctx, &Command{Type: CmdSetSpec, Spec: &SetSpec{YAML: y}}); err != nil {
		t.Fatal(err)
	}
	for _, s := range stores {
		testutil.Eventually(t, "extra served", 5*time.Second, func() bool { return extraAnswer(s) == "192.0.2.111" })
	}
	// The file changes on disk; a replica restarts and replays its log.
	if err := os.WriteFile(zoneFile, []byte("extra IN A 192.0.2.222\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := follower.cfg
	crash(follower)
	ln, err := net.Listen("tcp", cfg.RaftAddr)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener, cfg.Seed = ln, nil
	again, err := OpenStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { again.Close() })
	testutil.Eventually(t, "the restarted replica serves", 10*time.Second, func() bool { return extraAnswer(again) != "" })
	for _, s := range append(stores, again) {
		if s == follower {
			continue
		}
		if got := extraAnswer(s); got != "192.0.2.111" {
			t.Errorf("a replica answers %s for extra.example.test after the file changed, want the applied 192.0.2.111", got)
		}
	}
}
