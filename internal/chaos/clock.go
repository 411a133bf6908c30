package chaos

import (
	"fmt"
	"math"
	"net/http"
	"syscall"
	"time"
)

// FaultClock restarts one node with its wall clock far off (1-3 hours
// ahead or behind), the serving site dying during it half the time, and
// restarts it with the right time.
const FaultClock = "clock far off"

// invClock is the number of the skewed clock's assertion
// (docs/reliability.md).
const invClock = 8

// skewEnv is the agent's test-only clock setting.
const skewEnv = "DETOUR_TEST_CLOCK_SKEW"

// clockOff restarts a node (the leader half the time) with its clock
// skewed by the agent's test-only setting, holds 9-13 s, and restarts it
// with the right clock. Raft's timers are monotonic and the cluster clock
// is the leader's term clock, so nothing the cluster decides may change
// (invariants 1-6); besides (invClock) the node must be ready again
// within the hold, and the leader must report the skew in /v1/members.
func (tr *trial) clockOff(f *FaultRun) error {
	i, pickLeader, killSite := tr.rng.IntN(len(tr.c.Nodes)), tr.rng.IntN(2) == 0, tr.rng.IntN(2) == 0
	skew := time.Duration(1+tr.rng.IntN(3)) * time.Hour
	if tr.rng.IntN(2) == 0 {
		skew = -skew
	}
	if l, ok := tr.leaderIdx(); ok && pickLeader {
		i, f.Leader = l, true
	}
	n := tr.c.Nodes[i]
	f.Label = fmt.Sprintf("%s (n%d, leader: %v, skew %s, site dies: %v)", f.Kind, i+1, f.Leader, skew, killSite)
	if err := tr.restartWith(i, []string{skewEnv + "=" + skew.String()}); err != nil {
		return err
	}
	start := time.Now()
	if killSite {
		tr.hold(2*time.Second, 3*time.Second)
		tr.siteDown(f, 0)
		tr.hold(5*time.Second, 7*time.Second)
		if err := tr.siteUp(0); err != nil {
			return err
		}
	}
	for time.Since(start) < 9*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	tr.hold(0, 4*time.Second)
	f.Violations = append(f.Violations, tr.checkSkew(n, skew)...)
	return tr.restartWith(i, nil)
}

// restartWith stops node i (SIGTERM) and starts it with env.
func (tr *trial) restartWith(i int, env []string) error {
	n := tr.c.Nodes[i]
	if n.Running() {
		_ = tr.c.Signal(n, syscall.SIGTERM)
	}
	tr.w.SetProc(i, procDead)
	n.Env = env
	return tr.start(i)
}

// skewTolerance is how far the leader's measurement may be from the
// skew set: half a WAN round trip, and the probe's own time.
const skewTolerance = 5 * time.Second

// checkSkew asks the skewed node whether it is ready, and the leader
// what skew it measures between itself and the skewed node.
func (tr *trial) checkSkew(n *Node, skew time.Duration) []Violation {
	add := func(what string) []Violation {
		return []Violation{{Invariant: invClock, T: time.Since(tr.t0), Node: n.ID, Fault: FaultClock, What: what}}
	}
	code, body, err := tr.c.Call(n, http.MethodGet, "/v1/ready", nil)
	if err != nil || code != http.StatusOK {
		return add(fmt.Sprintf("clock %s off: not ready at the end of the hold: %d %s %v", skew, code, firstLine(string(body)), err))
	}
	l := tr.c.Leader()
	if l == nil {
		return add(fmt.Sprintf("clock %s off: no leader at the end of the hold", skew))
	}
	var r struct {
		Members []struct {
			ID          string  `json:"id"`
			ClockSkewMS float64 `json:"clock_skew_ms"`
		} `json:"members"`
	}
	if err := tr.c.Get(l, "/v1/members", &r); err != nil {
		return add("clock off: " + err.Error())
	}
	for _, m := range r.Members {
		want := skew
		switch {
		case l == n && m.ID != n.ID:
			want = -skew // the leader's clock is the one off
		case l != n && m.ID == n.ID:
		default:
			continue
		}
		got := time.Duration(m.ClockSkewMS * float64(time.Millisecond))
		if math.Abs(float64(got-want)) > float64(skewTolerance) {
			return add(fmt.Sprintf("clock %s off: leader %s reports %s's clock_skew_ms %.0f, want about %s", skew, l.ID, m.ID, m.ClockSkewMS, want))
		}
	}
	return nil
}
