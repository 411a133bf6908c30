package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/dnsserver"
)

// metrics are the node's Prometheus metrics beyond the health engine's:
// DNS replies, answer changes and failovers (counted as this node applies
// them), Raft and the consensus health, read at scrape time.
type metrics struct {
	s        *Server
	handler  http.Handler
	dnsStats func() dnsserver.Totals
	xfrStats func() dnsserver.TransferTotals

	answersChanged prometheus.Counter
	failovers      *prometheus.CounterVec

	replies, queries, truncated, dropped, xfr     *prometheus.Desc
	rateLimited, tcpShed, notifyRefused           *prometheus.Desc
	raftState, lastContact, applied, leader, spec *prometheus.Desc
	endpointUp, recordFallback                    *prometheus.Desc
	halted, logErrors, logFailing                 *prometheus.Desc
}

func newMetrics(s *Server, reg *prometheus.Registry, dnsStats func() dnsserver.Totals, xfrStats func() dnsserver.TransferTotals) (*metrics, error) {
	m := &metrics{
		s: s, dnsStats: dnsStats, xfrStats: xfrStats,
		xfr: prometheus.NewDesc("detour_dns_transfers_total", "Zone transfers to secondaries, by outcome: axfr, ixfr, ixfr_fallback (whole zone sent), up_to_date, refused.", []string{"outcome"}, nil),
		answersChanged: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "detour", Name: "answers_changed_total",
			Help: "Times the answers of the health-driven records changed, as applied on this node."}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "detour", Name: "failovers_total",
			Help: "Times a record moved to another pool or to its fallback, by record."}, []string{"record", "type", "to"}),
		replies:        prometheus.NewDesc("detour_dns_replies_total", "DNS replies sent, by rcode.", []string{"rcode"}, nil),
		queries:        prometheus.NewDesc("detour_dns_queries_total", "DNS queries answered, by query type (A, AAAA, ..., AXFR, IXFR, other).", []string{"type"}, nil),
		truncated:      prometheus.NewDesc("detour_dns_truncated_total", "DNS replies sent truncated (TC set).", nil, nil),
		dropped:        prometheus.NewDesc("detour_dns_dropped_total", "DNS queries dropped unanswered (malformed or not a query).", nil, nil),
		rateLimited:    prometheus.NewDesc("detour_dns_rate_limited_total", "UDP responses over the response rate limit, by action: dropped, or slipped (sent truncated).", []string{"action"}, nil),
		tcpShed:        prometheus.NewDesc("detour_dns_tcp_shed_total", "DNS TCP connections closed over a limit: at accept (the server or the client address at its limit), or idle and evicted to make room.", nil, nil),
		notifyRefused:  prometheus.NewDesc("detour_dns_notify_refused_total", "NOTIFY messages not sent: the target's address is refused by dns_peer_allow_networks.", nil, nil),
		raftState:      prometheus.NewDesc("detour_raft_state", "1 for this node's current Raft state.", []string{"state"}, nil),
		lastContact:    prometheus.NewDesc("detour_raft_last_contact_seconds", "Age of the last contact with the leader; 0 on the leader, -1 when never.", nil, nil),
		applied:        prometheus.NewDesc("detour_raft_applied_index", "Index of the last Raft entry applied on this node.", nil, nil),
		leader:         prometheus.NewDesc("detour_raft_leader_known", "1 when this node knows a leader.", nil, nil),
		spec:           prometheus.NewDesc("detour_spec_version", "Version of the spec in force.", nil, nil),
		endpointUp:     prometheus.NewDesc("detour_endpoint_up", "The cluster's verdict on an endpoint, drains applied: 1 up, 0 down.", []string{"pool", "address"}, nil),
		recordFallback: prometheus.NewDesc("detour_record_fallback", "1 when a record answers its fallback (no healthy pool).", []string{"record", "type"}, nil),
		halted:         prometheus.NewDesc("detour_state_machine_halted", "1 when this node stopped applying the Raft log at an entry it cannot apply (see /v1/ready); it serves its last answers.", nil, nil),
		logErrors:      prometheus.NewDesc("detour_raft_log_write_errors_total", "Writes to this node's Raft log that failed (a full or failing disk).", nil, nil),
		logFailing:     prometheus.NewDesc("detour_raft_log_failing", "1 while this node's latest write to its Raft log failed.", nil, nil),
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.answersChanged, m.failovers, m} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("api: registering metrics: %w", err)
	}
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Timeout: 10 * time.Second})
	return m, nil
}

func (m *metrics) serve(w http.ResponseWriter, r *http.Request) { m.handler.ServeHTTP(w, r) }

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.xfr, m.replies, m.queries, m.truncated, m.dropped, m.raftState, m.lastContact, m.applied, m.leader, m.spec, m.endpointUp, m.recordFallback, m.halted, m.logErrors, m.logFailing, m.rateLimited, m.tcpShed, m.notifyRefused} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: everything here is read at
// scrape time from the node's own state.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	if m.dnsStats != nil {
		t := m.dnsStats()
		for rc, n := range t.Rcode {
			name := dns.RcodeToString[rc]
			if name == "" {
				name = fmt.Sprint(rc)
			}
			if n > 0 || rc == dns.RcodeSuccess || rc == dns.RcodeNameError || rc == dns.RcodeRefused || rc == dns.RcodeServerFailure {
				ch <- prometheus.MustNewConstMetric(m.replies, prometheus.CounterValue, float64(n), name)
			}
		}
		for slot, n := range t.Qtype {
			ch <- prometheus.MustNewConstMetric(m.queries, prometheus.CounterValue, float64(n), dnsserver.QtypeName(slot))
		}
		ch <- prometheus.MustNewConstMetric(m.truncated, prometheus.CounterValue, float64(t.Truncated))
		ch <- prometheus.MustNewConstMetric(m.dropped, prometheus.CounterValue, float64(t.Dropped))
		ch <- prometheus.MustNewConstMetric(m.rateLimited, prometheus.CounterValue, float64(t.RRLDropped), "dropped")
		ch <- prometheus.MustNewConstMetric(m.rateLimited, prometheus.CounterValue, float64(t.RRLSlipped), "slipped")
		ch <- prometheus.MustNewConstMetric(m.tcpShed, prometheus.CounterValue, float64(t.TCPShed))
		ch <- prometheus.MustNewConstMetric(m.notifyRefused, prometheus.CounterValue, float64(t.NotifiesRefused))
	}
	if m.xfrStats != nil {
		x := m.xfrStats()
		for outcome, n := range map[string]uint64{"axfr": x.AXFR, "ixfr": x.IXFR, "ixfr_fallback": x.IXFRFallback, "up_to_date": x.UpToDate, "refused": x.Refused} {
			ch <- prometheus.MustNewConstMetric(m.xfr, prometheus.CounterValue, float64(n), outcome)
		}
	}
	f := m.s.freshness()
	for _, st := range []string{"Follower", "Candidate", "Leader", "Shutdown"} {
		v := 0.0
		if f.RaftState == st {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(m.raftState, prometheus.GaugeValue, v, st)
	}
	lc := f.LastContactMS / 1000
	if f.LastContactMS < 0 {
		lc = -1
	}
	ch <- prometheus.MustNewConstMetric(m.lastContact, prometheus.GaugeValue, lc)
	ch <- prometheus.MustNewConstMetric(m.applied, prometheus.GaugeValue, float64(f.AppliedIndex))
	known := 0.0
	if f.LeaderID != "" {
		known = 1
	}
	ch <- prometheus.MustNewConstMetric(m.leader, prometheus.GaugeValue, known)
	m.collectFaults(ch)
	// Read from the view, never under a lock: a slow scrape cannot hold
	// up the state machine.
	view := m.s.store.FSM().View()
	ch <- prometheus.MustNewConstMetric(m.spec, prometheus.GaugeValue, float64(view.SpecVersion()))
	sp := view.Spec()
	if sp == nil {
		return
	}
	health := view.HealthWithout(sp, nil)
	for _, p := range sp.Pools {
		for _, ep := range p.Endpoints {
			h := health.Endpoint(p.Name, ep.Address)
			v := 1.0
			if h.Known && !h.Up {
				v = 0
			}
			ch <- prometheus.MustNewConstMetric(m.endpointUp, prometheus.GaugeValue, v, p.Name, ep.Address)
		}
	}
	for _, d := range view.Decisions() {
		v := 0.0
		if d.Fallback {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(m.recordFallback, prometheus.GaugeValue, v, d.Name, d.Type)
	}
}

// collectFaults reports what keeps this node from being ready on its
// own account: a halted state machine, a Raft log it cannot write.
func (m *metrics) collectFaults(ch chan<- prometheus.Metric) {
	store := m.s.store
	halted, failing := 0.0, 0.0
	if store.FSM().Halted() != nil {
		halted = 1
	}
	if store.LogProblem() != nil {
		failing = 1
	}
	ch <- prometheus.MustNewConstMetric(m.halted, prometheus.GaugeValue, halted)
	ch <- prometheus.MustNewConstMetric(m.logErrors, prometheus.CounterValue, float64(store.LogStoreErrors()))
	ch <- prometheus.MustNewConstMetric(m.logFailing, prometheus.GaugeValue, failing)
}

// watch counts answer changes and failovers as this node applies them.
func (m *metrics) watch(ctx context.Context) {
	fsm := m.s.store.FSM()
	prev := map[string]controller.Decision{}
	for {
		changed := fsm.Changed()
		for _, d := range fsm.Decisions() {
			k := d.Name + "/" + d.Type
			if o, ok := prev[k]; ok && !o.SameAnswer(d) {
				m.answersChanged.Inc()
				if o.Pool != d.Pool || o.Fallback != d.Fallback {
					to := d.Pool
					if d.Fallback {
						to = "fallback"
					}
					m.failovers.WithLabelValues(d.Name, d.Type, to).Inc()
				}
			}
			prev[k] = d
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}
