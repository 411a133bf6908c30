package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// opsMetrics are what the alerting rules in deploy/prometheus need beyond
// the components' own metrics: readiness, the quorum as the leader sees
// it, observers' freshness, notification channels and the node
// certificate's expiry. All are read at scrape time, from the view or
// local state; the only cross-node fact (voters' reachability) is
// exported by the leader, which has it without asking anyone.
type opsMetrics struct {
	n       *Node
	nodeTLS *tls.Config

	ready, voters, votersUp, voterReachable *prometheus.Desc
	observerFresh                           *prometheus.Desc
	notifyFailing, notifyDropped            *prometheus.Desc
	certExpiry                              *prometheus.Desc
}

func newOpsMetrics(n *Node, nodeTLS *tls.Config) *opsMetrics {
	return &opsMetrics{n: n, nodeTLS: nodeTLS,
		ready:          prometheus.NewDesc("detour_ready", "1 when GET /v1/ready answers ready: a leader known, the spec in force, the first checks done, not cut off, no storage problem.", nil, nil),
		voters:         prometheus.NewDesc("detour_raft_voters", "Voters in the Raft configuration; exported by the leader.", nil, nil),
		votersUp:       prometheus.NewDesc("detour_raft_voters_up", "Voters the leader reaches (itself included); exported by the leader.", nil, nil),
		voterReachable: prometheus.NewDesc("detour_raft_voter_reachable", "1 when the leader reaches the voter over the node port; exported by the leader.", []string{"member"}, nil),
		observerFresh:  prometheus.NewDesc("detour_observer_fresh", "1 while an observer's verdicts count; 0 once the leader marked it stale (no report for raft.observer_stale_after).", []string{"observer"}, nil),
		notifyFailing:  prometheus.NewDesc("detour_notify_channel_failing", "1 while a notification channel's last delivery failed (it is being retried).", []string{"channel"}, nil),
		notifyDropped:  prometheus.NewDesc("detour_notify_dropped_total", "Notifications a channel's receiver refused for good, given up on.", []string{"channel"}, nil),
		certExpiry:     prometheus.NewDesc("detour_tls_cert_expiry_timestamp_seconds", "Unix time the node certificate (node port and API) expires; as reloaded from disk.", []string{"cert"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *opsMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.ready, m.voters, m.votersUp, m.voterReachable, m.observerFresh, m.notifyFailing, m.notifyDropped, m.certExpiry} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *opsMetrics) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(m.ready, prometheus.GaugeValue, one(m.n.api.Ready()))
	m.collectQuorum(ch)
	view := m.n.store.FSM().View()
	for _, o := range view.Observers() {
		ch <- prometheus.MustNewConstMetric(m.observerFresh, prometheus.GaugeValue, one(o.Fresh), o.ID)
	}
	if sp := view.Spec(); sp != nil && sp.Notifications != nil {
		for _, c := range sp.Notifications.Channels {
			cur, _ := view.Cursor(c.Name)
			ch <- prometheus.MustNewConstMetric(m.notifyFailing, prometheus.GaugeValue, one(cur.Error != ""), c.Name)
			ch <- prometheus.MustNewConstMetric(m.notifyDropped, prometheus.CounterValue, float64(cur.Dropped), c.Name)
		}
	}
	if leaf := m.nodeCert(); leaf != nil {
		ch <- prometheus.MustNewConstMetric(m.certExpiry, prometheus.GaugeValue, float64(leaf.NotAfter.Unix()), "node")
	}
}

// collectQuorum exports the voters and their reachability, on the leader
// only: a follower would have to ask the leader during the scrape.
func (m *opsMetrics) collectQuorum(ch chan<- prometheus.Metric) {
	if !m.n.store.IsLeader() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	members, q := m.n.store.MembersHealth(ctx)
	if !q.Known {
		return
	}
	ch <- prometheus.MustNewConstMetric(m.voters, prometheus.GaugeValue, float64(q.Voters))
	ch <- prometheus.MustNewConstMetric(m.votersUp, prometheus.GaugeValue, float64(q.VotersUp))
	for _, mem := range members {
		if mem.Voter {
			ch <- prometheus.MustNewConstMetric(m.voterReachable, prometheus.GaugeValue, one(mem.Reachability != "unreachable"), mem.ID)
		}
	}
}

// nodeCert is the node certificate as the node port serves it now (the
// reloader re-reads rotated files), nil without TLS.
func (m *opsMetrics) nodeCert() *x509.Certificate {
	if m.nodeTLS == nil || m.nodeTLS.GetCertificate == nil {
		return nil
	}
	c, err := m.nodeTLS.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil || c == nil || len(c.Certificate) == 0 {
		return nil
	}
	if c.Leaf != nil {
		return c.Leaf
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil
	}
	return leaf
}

func one(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
