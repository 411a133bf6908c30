package health

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the engine's Prometheus collectors. They exist even without
// a Registerer, so that the probing code has one path.
type metrics struct {
	latency  *prometheus.HistogramVec
	results  *prometheus.CounterVec
	inFlight prometheus.Gauge
	changes  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "detour", Subsystem: "health", Name: "probe_duration_seconds",
			Help: "How long probes took, by check type, failures included.",
			// From sub-millisecond loopback probes to a 10 s timeout.
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"type"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "detour", Subsystem: "health", Name: "probes_total",
			Help: "Probes by check type and result: ok, or the class of failure (timeout, refused, status, content, tls, ...).",
		}, []string{"type", "result"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "detour", Subsystem: "health", Name: "probes_in_flight",
			Help: "Probes running now; the global concurrency limit caps it.",
		}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "detour", Subsystem: "health", Name: "verdict_changes_total",
			Help: "Local verdict changes, by the verdict reached.",
		}, []string{"to"}),
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.latency, m.results, m.inFlight, m.changes} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("health: registering metrics: %w", err)
	}
	return m, nil
}
