package notify

import (
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/spec"
)

// build reads severities and places from the controller's event texts.
func TestBuildSeverity(t *testing.T) {
	s, err := spec.Parse([]byte(baseSpec))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, kind, subject, msg string
		sev, title, dc, from     string
	}{
		{"first answer", "record", "www.example.test. A", "www.example.test. A now answers 192.0.2.1 (pool pa) (was nothing): first pool pa is healthy (1/1 up)",
			SeverityInfo, "Website answers from us-east", "us-east", ""},
		{"failover", "record", "www.example.test. A", "www.example.test. A now answers 192.0.2.2 (pool pb) (was 192.0.2.1 (pool pa)): pool pb: earlier pools unhealthy",
			SeverityCritical, "Website failed over from us-east to us-west", "us-west", "us-east"},
		{"fallback", "record", "www.example.test. A", "www.example.test. A now answers 192.0.2.99 (fallback) (was 192.0.2.2 (pool pb)): no healthy pool (x): answering the fallback",
			SeverityCritical, "Website failed over from us-west to the fallback", "", "us-west"},
		{"back", "record", "www.example.test. A", "www.example.test. A now answers 192.0.2.1 (pool pa) (was 192.0.2.99 (fallback)): first pool pa is healthy (1/1 up)",
			SeverityResolved, "Website is back on us-east", "us-east", ""},
		{"drained", "record", "www.example.test. A", "www.example.test. A now answers 192.0.2.2 (pool pb) (was 192.0.2.1 (pool pa)): pool pb: earlier pools unhealthy; unhealthy: pa 0/1 up: down 192.0.2.1 (drained us-east by ops: maintenance)",
			SeverityInfo, "Website moved from us-east to us-west for planned maintenance", "us-west", "us-east"},
		{"drained and down", "record", "www.example.test. A", "www.example.test. A now answers 192.0.2.99 (fallback) (was 192.0.2.2 (pool pb)): no healthy pool (pa 0/1 up: down 192.0.2.1 (drained us-east by ops: maintenance); pb 0/1 up: down 192.0.2.2 (1/1 observers: n1: timeout)): answering the fallback",
			SeverityCritical, "Website failed over from us-west to the fallback", "", "us-west"},
		{"pinned", "record", "www.example.test. A", "www.example.test. A now answers 192.0.2.2 (pool pb) (was 192.0.2.1 (pool pa)): pinned to pool pb by ops: maintenance",
			SeverityInfo, "Website pinned to us-west by an operator", "us-west", "us-east"},
		{"endpoint down", "endpoint", "pa/192.0.2.1", "pa/192.0.2.1 is down: 2/3 observers see it down",
			SeverityCritical, "pa/192.0.2.1 in us-east is down", "us-east", ""},
		{"endpoint up", "endpoint", "pa/192.0.2.1", "pa/192.0.2.1 is up again",
			SeverityResolved, "pa/192.0.2.1 in us-east is up again", "us-east", ""},
		{"stale observer", "observer", "n2", "observer n2 is stale: no report for 5s; its verdicts no longer count",
			SeverityWarning, "observer n2 is stale: no report for 5s; its verdicts no longer count", "", ""},
		{"override", "override", "drain:us-east", "drain datacenter us-east by ops: maintenance",
			SeverityInfo, "drain datacenter us-east by ops: maintenance", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := Build(controller.Event{Seq: 7, Time: time.Now(), Kind: tc.kind, Subject: tc.subject, Message: tc.msg}, s, nil)
			if n.Severity != tc.sev || n.Title != tc.title || n.Datacenter != tc.dc || n.FromDatacenter != tc.from {
				t.Errorf("got severity %q title %q dc %q from %q", n.Severity, n.Title, n.Datacenter, n.FromDatacenter)
			}
		})
	}
}

func TestFilters(t *testing.T) {
	s, err := spec.Parse([]byte(baseSpec))
	if err != nil {
		t.Fatal(err)
	}
	down := Notification{Kind: "endpoint", Severity: SeverityCritical, Pool: "pa"}
	up := Notification{Kind: "endpoint", Severity: SeverityResolved, Pool: "pa"}
	info := Notification{Kind: "override", Severity: SeverityInfo}
	other := Notification{Kind: "record", Severity: SeverityCritical, Record: "api.example.test."}
	for _, tc := range []struct {
		name string
		f    spec.ChannelFilters
		n    Notification
		want bool
	}{
		{"no filter", spec.ChannelFilters{}, info, true},
		{"kinds", spec.ChannelFilters{Kinds: []string{"record"}}, down, false},
		{"min severity", spec.ChannelFilters{MinSeverity: "critical"}, info, false},
		{"recovery passes severity", spec.ChannelFilters{MinSeverity: "critical"}, up, true},
		{"records: endpoint of a used pool", spec.ChannelFilters{Records: []string{"www.example.test."}}, down, true},
		{"records: other record", spec.ChannelFilters{Records: []string{"www.example.test."}}, other, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := wants(tc.f, tc.n, s); got != tc.want {
				t.Errorf("wants = %v, want %v", got, tc.want)
			}
		})
	}
}
