package chaos

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
)

// TestElectionTime measures elections in the lab: for each one-way
// latency (every node-network link, with the trials' jitter and 1% loss,
// the nodes' --wan-rtt set to the round trip), it kills the leader N
// times (SIGKILL) and times each kill until a survivor leads and the
// other follows it, for good (the leader still leads 2 s later). Every
// election must be within the figure cluster.md states,
// controller.Timing.ElectionTime of the timing --wan-rtt derives.
// Opt-in, it runs for minutes:
//
//	DETOUR_CHAOS_ELECTIONS=10 [DETOUR_CHAOS_LATENCIES=0,50,100,120] \
//	  go test -run TestElectionTime -v -timeout 60m ./internal/chaos
func TestElectionTime(t *testing.T) {
	kills, _ := strconv.Atoi(os.Getenv("DETOUR_CHAOS_ELECTIONS"))
	if kills <= 0 {
		t.Skip("set DETOUR_CHAOS_ELECTIONS=N to measure N elections per latency")
	}
	requireLab(t)
	bin := detourBin(t)
	latencies := []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond, 120 * time.Millisecond}
	if s := os.Getenv("DETOUR_CHAOS_LATENCIES"); s != "" {
		latencies = nil
		for f := range strings.SplitSeq(s, ",") {
			ms, err := strconv.Atoi(f)
			if err != nil {
				t.Fatal(err)
			}
			latencies = append(latencies, time.Duration(ms)*time.Millisecond)
		}
	}
	var table []string
	for _, l := range latencies {
		took := measureElections(t, bin, l, kills)
		rtt := time.Duration(0)
		if l > 0 {
			rtt = 2 * (l + linkJitter)
		}
		bound := controller.WANTiming(rtt).ElectionTime()
		table = append(table, fmt.Sprintf("| %s | %s | %d | %s | %s | %s | %s |", l, rtt, len(took),
			pct(took, 50), pct(took, 90), pct(took, 100), bound))
		for _, d := range took {
			if d > bound {
				t.Errorf("latency %s: an election took %s, over the %s stated", l, d.Round(time.Millisecond), bound)
			}
		}
	}
	t.Logf("\n| one way | --wan-rtt | elections | p50 | p90 | max | stated |\n|---|---|---:|---:|---:|---:|---:|\n%s", strings.Join(table, "\n"))
}

// measureElections runs a cluster at one-way latency l and times kills
// elections.
func measureElections(t *testing.T, bin string, l time.Duration, kills int) []time.Duration {
	t.Helper()
	lab, err := NewLab(3)
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	rtt := time.Duration(0)
	if l > 0 {
		rtt = 2 * (l + linkJitter)
		for i := range 3 {
			for j := range 3 {
				if i != j {
					lab.Switch.Set(i, j, Link{Delay: l, Jitter: linkJitter, Loss: 0.01})
				}
			}
		}
	}
	c, err := NewClusterRTT(lab, bin, t.TempDir(), []string{"local", "local", "local"}, rtt)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitReady(90 * time.Second); err != nil {
		t.Fatal(err)
	}
	var took []time.Duration
	for k := range kills {
		d, err := timeElection(c)
		if err != nil {
			for _, n := range c.Nodes {
				t.Logf("--- %s\n%s", n.ID, c.Logs(n, 40))
			}
			t.Fatalf("latency %s, kill %d: %v", l, k, err)
		}
		t.Logf("latency %s, kill %d: elected in %s", l, k, d.Round(time.Millisecond))
		if d > controller.WANTiming(rtt).ElectionTime() {
			for _, n := range c.Nodes {
				t.Logf("--- %s, over the bound:\n%s", n.ID, raftLines(c.Logs(n, 120)))
			}
		}
		took = append(took, d)
	}
	return took
}

// timeElection kills the leader, times the election, and restarts the
// killed node, waiting until the cluster is ready again.
func timeElection(c *Cluster) (time.Duration, error) {
	var old *Node
	if !waitFor(30*time.Second, func() bool { old = c.Leader(); return old != nil }) {
		return 0, fmt.Errorf("no leader")
	}
	if err := c.Signal(old, syscall.SIGKILL); err != nil {
		return 0, err
	}
	killed := time.Now()
	var elected time.Time
	var leader string
	ok := waitFor(60*time.Second, func() bool {
		id, at := agreedLeader(c, old)
		switch {
		case id == "":
			leader = ""
		case id != leader:
			leader, elected = id, at
		case time.Since(elected) > 2*time.Second:
			return true
		}
		return false
	})
	if !ok {
		return 0, fmt.Errorf("no stable leader 60 s after killing %s", old.ID)
	}
	if err := c.Start(old); err != nil {
		return 0, err
	}
	if err := c.WaitReady(60 * time.Second); err != nil {
		return 0, err
	}
	return elected.Sub(killed), nil
}

// agreedLeader is the survivor that leads with every other survivor
// following it, and when it was seen so; "" when there is none.
func agreedLeader(c *Cluster, dead *Node) (string, time.Time) {
	leader, agree := "", true
	for _, n := range c.Nodes {
		if n == dead {
			continue
		}
		var f freshness
		_, b, err := c.Call(n, http.MethodGet, "/v1/ready", nil) // 503 while without a leader
		if err != nil || json.Unmarshal(b, &f) != nil {
			return "", time.Time{}
		}
		id := f.Freshness.LeaderID
		if f.Freshness.RaftState == "Leader" {
			id = n.ID
		}
		if id == "" || id == dead.ID || leader != "" && id != leader {
			agree = false
		}
		leader = id
	}
	if !agree {
		return "", time.Time{}
	}
	return leader, time.Now()
}

// raftLines keeps the log lines of elections and leadership.
func raftLines(log string) string {
	var out []string
	for l := range strings.SplitSeq(log, "\n") {
		if strings.Contains(l, "component=raft") || strings.Contains(l, "=== start") {
			out = append(out, l)
		}
	}
	return strings.Join(out[max(0, len(out)-40):], "\n")
}
