package controller

import "time"

// WAN timing: DefaultTiming suits round trips up to about 150 ms between
// nodes. Over longer ones, hashicorp/raft's timers as DefaultTiming sets
// them misfire: a new leader's first contact with a follower it has no
// connection to costs four round trips (TCP, TLS, the node port's hello,
// the request), longer than a 250 ms lease (the default then), so it
// stepped down again; and a heartbeat timeout near the round trip takes
// a delayed heartbeat (a lost segment waits for TCP's retransmission)
// for a dead leader.
// WANTiming derives every timeout from the longest round trip instead.

// wanRoundTrips is how many round trips the heartbeat timeout, the
// election timeout and the leader lease span: a new leader's cold first
// contact (four) and a margin.
const wanRoundTrips = 4

// WANTiming returns the timing for nodes whose longest round trip to one
// another is rtt (jitter included): heartbeat timeout, election timeout
// and leader lease of wanRoundTrips x rtt, never below DefaultTiming's,
// and an observer staleness (minority_after's default) past the longest
// election. rtt 0 is DefaultTiming.
func WANTiming(rtt time.Duration) Timing {
	d := DefaultTiming
	if rtt <= 0 {
		return d
	}
	t := d
	t.HeartbeatTimeout = max(d.HeartbeatTimeout, wanRoundTrips*rtt)
	t.ElectionTimeout = max(d.ElectionTimeout, wanRoundTrips*rtt)
	t.LeaderLeaseTimeout = max(d.LeaderLeaseTimeout, t.HeartbeatTimeout)
	t.StaleAfter = max(d.StaleAfter, t.ElectionTime()+time.Second)
	return t
}

// ElectionTime is how long electing a new leader takes at most with
// these timeouts, as hashicorp/raft draws its timers: a follower whose
// leader went silent stands within three heartbeat timeouts of the
// leader's last word (its timer fires every one to two timeouts, and
// only a firing at least one timeout after that word stands); with
// pre-vote the other survivors refuse it while they still hear from a
// leader, so the last to notice decides; its rounds of pre-vote and
// vote, over connections it may have to open, take up to five round
// trips, within an election timeout; and a round whose votes split ends
// within two election timeouts, when the next starts. So three
// heartbeat timeouts and two election timeouts. The chaos lab measures
// elections within it at 0-120 ms one way (docs/cluster.md, failover
// timing).
func (t Timing) ElectionTime() time.Duration {
	t = t.WithDefaults()
	return 3*t.HeartbeatTimeout + 2*t.ElectionTimeout
}
