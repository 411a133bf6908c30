package controller

import (
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// No node's wall clock rules the cluster (the leader clock, cluster.md
// "Time"), but a node whose clock is far off still signs DNSSEC records
// with wrong validity times, stamps its logs and its health checks with
// them, and judges certificates by them. So the leader measures each
// member's wall clock against its own in the probes it makes every
// probeEvery: the member's clock when it answered, against the midpoint
// of the call on the leader's clock (off by at most half the round
// trip). It shows the skew in /v1/members, as detour_clock_skew_seconds,
// and logs a warning while it is over clockSkewWarn.

// clockSkewWarn is the skew the leader warns about: well above what a
// WAN round trip makes of the measurement.
const clockSkewWarn = 2 * time.Second

// clockReading is when a probe left and came back, on the leader's clock.
type clockReading struct{ sent, got time.Time }

// of is the skew of a member clock read during the call: zero when the
// member gave none (an older version).
func (r clockReading) of(clock time.Time) time.Duration {
	if clock.IsZero() || r.sent.IsZero() {
		return 0
	}
	return clock.Sub(r.sent.Add(r.got.Sub(r.sent) / 2))
}

// noteSkew records member id's clock skew in p and logs a change across
// clockSkewWarn. Called with the health table locked.
func (s *Store) noteSkew(id string, p *peerHealth, skew time.Duration) {
	p.ClockSkewMS = float64(skew) / float64(time.Millisecond)
	over := skew > clockSkewWarn || skew < -clockSkewWarn
	if over == p.skewed {
		return
	}
	p.skewed = over
	if over {
		s.logger.Warn("a member's wall clock is far off this leader's: fix its time sync; DNSSEC signatures, events and health check times it makes are off by as much",
			"member", id, "skew", skew.Round(time.Millisecond))
	} else {
		s.logger.Info("a member's wall clock is back near this leader's", "member", id, "skew", skew.Round(time.Millisecond))
	}
}

// ClockSkews are the members' clock skews the leader measured, by member
// ID; empty on a follower.
func (s *Store) ClockSkews() map[string]time.Duration {
	out := map[string]time.Duration{}
	if !s.IsLeader() {
		return out
	}
	for id, p := range s.health.snapshot() {
		if p.Reachable && p.ClockSkewMS != 0 {
			out[id] = time.Duration(p.ClockSkewMS * float64(time.Millisecond))
		}
	}
	return out
}

// clockSkewCollector exports ClockSkews as detour_clock_skew_seconds.
type clockSkewCollector struct {
	s    *Store
	desc *prometheus.Desc
}

// NewClockSkewCollector is the metric of the members' clock skews, on
// the leader.
func NewClockSkewCollector(s *Store) prometheus.Collector {
	return clockSkewCollector{s: s, desc: prometheus.NewDesc("detour_clock_skew_seconds",
		"On the leader: how far each member's wall clock is ahead of the leader's (negative: behind), as its probes measure it.", []string{"member"}, nil)}
}

// Describe implements prometheus.Collector.
func (c clockSkewCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c clockSkewCollector) Collect(ch chan<- prometheus.Metric) {
	for id, d := range c.s.ClockSkews() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, math.Round(d.Seconds()*1000)/1000, id)
	}
}
