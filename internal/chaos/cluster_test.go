package chaos

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// detourBin builds the detour command once per test binary.
func detourBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "detour-chaos-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin, buildErr = Build(dir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// TestMain removes the built binary after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// Three agents in their namespaces, with mutual TLS and tokens, come up
// ready and answer the first datacenter's address over DNS.
func TestClusterComesUp(t *testing.T) {
	t.Parallel() // a lab of its own; after TestChaos, which runs alone
	c := startCluster(t, []string{"local", "local", "servfail"}, nil)
	cl := newDNSClient()
	for _, n := range c.Nodes {
		if a := QueryA(cl, n.DNS, "www.example.test"); a.String() != Answer(0) {
			t.Errorf("%s answers %s, want %s", n.ID, a, Answer(0))
		}
	}
	// The operations the histories record work on a follower and a leader.
	st, err := c.ReadState(c.Nodes[0])
	if err != nil || st != (State{Pin: -1, Version: 1, TTL: 1}) {
		t.Fatalf("initial state %+v, %v", st, err)
	}
	for _, step := range []struct {
		in   OpInput
		want Outcome
	}{
		{OpInput{Kind: OpDrain, Arg: 1}, Applied}, {OpInput{Kind: OpUndrain, Arg: 2}, NotFound},
		{OpInput{Kind: OpPin, Arg: 2}, Applied}, {OpInput{Kind: OpSpec, Arg: 7}, Applied},
		{OpInput{Kind: OpIncident, Arg: 3}, Applied}, {OpInput{Kind: OpRelease}, Applied},
	} {
		if out := c.Do(c.Nodes[1], step.in); out.Outcome != step.want {
			t.Errorf("%s(%d): %+v, want outcome %d", opNames[step.in.Kind], step.in.Arg, out, step.want)
		}
	}
	want := State{Drained: 2, Pin: -1, Version: 2, TTL: 7, Incidents: 8}
	if st, err := c.ReadState(c.Nodes[1]); err != nil || st != want {
		t.Errorf("state after the operations %+v, %v; want %+v", st, err, want)
	}
}

// startCluster starts a three-datacenter lab, applies links to its
// switch (nil: none), starts a cluster in it with minority modes modes,
// and waits until every node is ready (logging each node's last lines if
// not). Lab and cluster are closed when the test ends.
func startCluster(t *testing.T, modes []string, links func(*Lab)) *Cluster {
	t.Helper()
	requireLab(t)
	bin := detourBin(t)
	lab, err := NewLab(3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.Close)
	if links != nil {
		links(lab)
	}
	c, err := NewCluster(lab, bin, t.TempDir(), modes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.WaitReady(90 * time.Second); err != nil {
		for _, n := range c.Nodes {
			t.Logf("--- %s\n%s", n.ID, c.Logs(n, 40))
		}
		t.Fatal(err)
	}
	return c
}
