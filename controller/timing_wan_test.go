package controller

import (
	"testing"
	"time"
)

// WANTiming keeps the defaults on short round trips and, on long ones,
// gives a leader lease that outlasts a new leader's cold first contact
// (four round trips), within the heartbeat timeout hashicorp/raft
// requires, and a minority_after default past the longest election.
func TestWANTiming(t *testing.T) {
	if got := WANTiming(0); got != DefaultTiming {
		t.Errorf("rtt 0: %+v, want the defaults", got)
	}
	if got := WANTiming(50 * time.Millisecond); got.HeartbeatTimeout != DefaultTiming.HeartbeatTimeout || got.ElectionTime() != DefaultTiming.ElectionTime() {
		t.Errorf("rtt 50ms: %+v, want the default timeouts", got)
	}
	for _, rtt := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 260 * time.Millisecond, time.Second} {
		tm := WANTiming(rtt)
		if tm.LeaderLeaseTimeout < 4*rtt || tm.LeaderLeaseTimeout > tm.HeartbeatTimeout {
			t.Errorf("rtt %s: lease %s, heartbeat timeout %s: want 4 round trips at least, within the heartbeat timeout", rtt, tm.LeaderLeaseTimeout, tm.HeartbeatTimeout)
		}
		if tm.StaleAfter <= tm.ElectionTime() {
			t.Errorf("rtt %s: observer staleness %s within an election (%s): a node of the majority would call itself cut off", rtt, tm.StaleAfter, tm.ElectionTime())
		}
	}
}
