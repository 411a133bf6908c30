package providers

import "github.com/prometheus/client_golang/prometheus"

var (
	descRequests = prometheus.NewDesc("detour_provider_requests_total",
		"Requests this node sent to the provider.", []string{"provider", "type"}, nil)
	descApplied = prometheus.NewDesc("detour_provider_changes_applied_total",
		"RRset changes this node wrote to the provider.", []string{"provider", "type"}, nil)
	descErrors = prometheus.NewDesc("detour_provider_sync_errors_total",
		"Failed sync attempts.", []string{"provider", "type"}, nil)
	descPending = prometheus.NewDesc("detour_provider_pending_changes",
		"Changes the last diff found and not yet written.", []string{"provider", "type"}, nil)
	descInSync = prometheus.NewDesc("detour_provider_in_sync",
		"1 when the last sync left the provider holding the desired state.", []string{"provider", "type"}, nil)
	descActive = prometheus.NewDesc("detour_provider_active",
		"1 while this node, as leader, pushes to the provider.", []string{"provider", "type"}, nil)
	descLastSuccess = prometheus.NewDesc("detour_provider_last_success_timestamp_seconds",
		"Unix time of the last successful sync.", []string{"provider", "type"}, nil)
)

// collector exposes Manager.Status as metrics, read at scrape time.
type collector struct{ m *Manager }

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRequests, descApplied, descErrors, descPending, descInSync, descActive, descLastSuccess} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	for _, s := range c.m.Status() {
		l := []string{s.Name, s.Type}
		ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(s.Requests), l...)
		ch <- prometheus.MustNewConstMetric(descApplied, prometheus.CounterValue, float64(s.Applied), l...)
		ch <- prometheus.MustNewConstMetric(descErrors, prometheus.CounterValue, float64(s.Errors), l...)
		ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(s.Pending), l...)
		ch <- prometheus.MustNewConstMetric(descInSync, prometheus.GaugeValue, b(s.InSync), l...)
		ch <- prometheus.MustNewConstMetric(descActive, prometheus.GaugeValue, b(s.Active), l...)
		if !s.LastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(descLastSuccess, prometheus.GaugeValue, float64(s.LastSuccess.UnixNano())/1e9, l...)
		}
	}
}
