package chaos

import (
	"net/http"
	"testing"
	"time"
)

// A node cut off longer than minority_after over links of 120 ms one way
// is ready again soon after the heal: leaving minority mode asks the
// leader how far it has applied, over a new TLS connection (three round
// trips), which must fit that call's deadline.
func TestMinorityEndsOverWAN(t *testing.T) {
	t.Parallel() // a lab of its own; after TestChaos, which runs alone
	if testing.Short() {
		t.Skip("runs real agents")
	}
	c := startCluster(t, []string{"local", "local", "local"}, func(lab *Lab) {
		for i := range 3 {
			for j := range 3 {
				if i != j {
					lab.Switch.Set(i, j, Link{Delay: 120 * time.Millisecond})
				}
			}
		}
	})
	dump := func() {
		for _, n := range c.Nodes {
			t.Logf("--- %s\n%s", n.ID, c.Logs(n, 30))
		}
	}
	tr := &trial{c: c, w: NewWorld(3, time.Now())}
	n3 := c.Nodes[2]
	ready := func() int {
		code, _, _ := c.Call(n3, http.MethodGet, "/v1/ready", nil)
		return code
	}
	tr.cut(2, true, true)
	if !waitFor(20*time.Second, func() bool { return ready() == http.StatusServiceUnavailable }) {
		dump()
		t.Fatal("n3 never reported itself cut off")
	}
	tr.cut(2, false, false)
	healed := time.Now()
	if !waitFor(30*time.Second, func() bool { return ready() == http.StatusOK }) {
		dump()
		t.Fatalf("n3 still not ready %s after the heal", time.Since(healed).Round(time.Second))
	}
	t.Logf("n3 ready %s after the heal", time.Since(healed).Round(10*time.Millisecond))
}
