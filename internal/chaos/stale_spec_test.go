package chaos

import (
	"testing"
	"time"
)

// A node cut off from the leader never acknowledges a spec as "already in
// force" from its stale replica (chaos seed 3009): it holds the spec the
// cluster replaced, is sent that spec, and must not answer 200 unchanged.
func TestCutOffNodeDoesNotCallStaleSpecInForce(t *testing.T) {
	t.Parallel() // a lab of its own; after TestChaos, which runs alone
	if testing.Short() {
		t.Skip("runs real agents")
	}
	c := startCluster(t, []string{"local", "local", "local"}, nil)
	tr := &trial{c: c, w: NewWorld(3, time.Now())}
	tr.cut(2, true, true)
	if out := c.Do(c.Nodes[0], OpInput{Kind: OpSpec, Arg: 5}); out.Outcome != Applied || !out.Changed || out.Version != 2 {
		t.Fatalf("the majority's apply: %+v", out)
	}
	// n3 still holds version 1 (TTL 1) and is sent it.
	out := c.Do(c.Nodes[2], OpInput{Kind: OpSpec, Arg: 1})
	if out.Outcome == Applied && !out.Changed {
		t.Fatalf("the cut-off node called the replaced spec in force: %+v", out)
	}
	t.Logf("the cut-off node answered: %+v", out)
}
