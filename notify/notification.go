// Package notify tells people of what the cluster did: the leader reads
// committed events after each channel's cursor, delivers them (webhook,
// Slack, email, PagerDuty) at least once with retries, and records the
// new cursor through Raft, so a new leader resumes where the old one
// stopped. One goroutine per channel: a failing channel never blocks
// another one, nor the DNS answers.
package notify

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/spec"
)

// Severities of notifications. Resolved marks a recovery: it passes any
// severity filter, so every alert hears of its end.
const (
	SeverityInfo     = spec.SeverityInfo
	SeverityWarning  = spec.SeverityWarning
	SeverityCritical = spec.SeverityCritical
	SeverityResolved = "resolved"
)

// Notification is one committed event as channels deliver it. Its JSON
// form is the webhook's body (docs/notifications.md).
type Notification struct {
	// ID is the event's sequence number as a string: the idempotency key
	// receivers dedupe by.
	ID       string    `json:"id"`
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`
	Severity string    `json:"severity"`
	// Title is a one-line headline; Message the event's full text.
	Title   string `json:"title"`
	Subject string `json:"subject"`
	Message string `json:"message"`

	// Record events: the record, its friendly name, the pool answering
	// now (empty on the fallback) and the datacenters traffic moved
	// between.
	Record         string `json:"record,omitempty"`
	RecordType     string `json:"record_type,omitempty"`
	Service        string `json:"service,omitempty"`
	Pool           string `json:"pool,omitempty"`
	Fallback       bool   `json:"fallback,omitempty"`
	Datacenter     string `json:"datacenter,omitempty"`
	FromDatacenter string `json:"from_datacenter,omitempty"`
	// Endpoint events: the endpoint's address (Pool and Datacenter are
	// set too).
	Endpoint string `json:"endpoint,omitempty"`
	// Incident events: the incident as it stands at delivery.
	Incident *controller.Incident `json:"incident,omitempty"`
}

// recordMove parses a record event's message, written by the controller
// as "NAME TYPE now answers A (pool P) (was B (pool Q)): REASON".
var recordMove = regexp.MustCompile(`now answers .*?(?:\(pool ([^)]*)\)|\((fallback)\)|no data) \(was (.*?)\): (.*)$`)
var poolIn = regexp.MustCompile(`\(pool ([^)]*)\)$`)

// Build turns an event into a notification, with the spec and
// incidents in force: what channels send and the status page lists.
func Build(ev controller.Event, s *spec.Spec, incidents map[string]*controller.Incident) Notification {
	n := Notification{ID: fmt.Sprint(ev.Seq), Seq: ev.Seq, Time: ev.Time, Kind: ev.Kind, Subject: ev.Subject,
		Message: ev.Message, Severity: SeverityInfo, Title: ev.Message}
	switch ev.Kind {
	case "record":
		buildRecord(&n, s)
	case "endpoint":
		pool, addr, _ := strings.Cut(ev.Subject, "/")
		n.Pool, n.Endpoint, n.Datacenter = pool, addr, poolDC(s, pool)
		if strings.Contains(ev.Message, " is down") {
			n.Severity = SeverityCritical
			n.Title = fmt.Sprintf("%s in %s is down", ev.Subject, orDash(n.Datacenter))
		} else {
			n.Severity = SeverityResolved
			n.Title = fmt.Sprintf("%s in %s is up again", ev.Subject, orDash(n.Datacenter))
		}
	case "observer":
		if strings.Contains(ev.Message, " is stale") {
			n.Severity = SeverityWarning
		}
	case "incident":
		if inc := incidents[ev.Subject]; inc != nil {
			c := *inc
			c.Updates = append([]controller.IncidentUpdate(nil), inc.Updates...)
			n.Incident = &c
			n.Title = fmt.Sprintf("Incident %s: %s", inc.ID, inc.Title)
		}
		switch {
		case strings.Contains(ev.Message, " resolved by "):
			n.Severity = SeverityResolved
			n.Title += " (resolved)"
		case strings.Contains(ev.Message, " opened by "):
			n.Severity = SeverityWarning
		}
	}
	return n
}

func buildRecord(n *Notification, s *spec.Spec) {
	name, typ, _ := strings.Cut(n.Subject, " ")
	n.Record, n.RecordType, n.Service = name, typ, serviceName(s, name, typ)
	m := recordMove.FindStringSubmatch(n.Message)
	if m == nil {
		return
	}
	n.Pool, n.Fallback = m[1], m[2] != ""
	was, reason := m[3], m[4]
	var wasPool string
	if p := poolIn.FindStringSubmatch(was); p != nil {
		wasPool = p[1]
	}
	n.Datacenter, n.FromDatacenter = poolDC(s, n.Pool), poolDC(s, wasPool)
	first := firstPool(s, name, typ)
	switch {
	case was == "nothing":
		n.Title = fmt.Sprintf("%s answers from %s", n.Service, where(n))
	case strings.HasPrefix(reason, "pinned to pool"):
		n.Title = fmt.Sprintf("%s pinned to %s by an operator", n.Service, where(n))
	case (n.Fallback || n.Pool == "" || n.Pool != first) && drainedOnly(reason):
		// An operator's drain moved it, not an outage: customers and
		// channels hear of planned work, not of a failure.
		n.Title = fmt.Sprintf("%s moved from %s to %s for planned maintenance", n.Service, orDash(n.FromDatacenter), where(n))
	case n.Fallback || n.Pool == "" || n.Pool != first:
		n.Severity = SeverityCritical
		n.Title = fmt.Sprintf("%s failed over from %s to %s", n.Service, orDash(n.FromDatacenter), where(n))
		if strings.Contains(n.Pool, ",") {
			n.Title = fmt.Sprintf("%s now answers from %s only", n.Service, n.Pool)
		}
	default:
		n.Severity = SeverityResolved
		n.Title = fmt.Sprintf("%s is back on %s", n.Service, where(n))
	}
}

// drainedOnly reports whether a record's move was made by drains alone:
// every endpoint its reason names down was drained by an operator, and
// none is down by its observers' verdicts.
func drainedOnly(reason string) bool {
	return strings.Contains(reason, "(drained ") && !strings.Contains(reason, "observer")
}

func where(n *Notification) string {
	switch {
	case n.Fallback:
		return "the fallback"
	case n.Datacenter != "":
		return n.Datacenter
	case n.Pool != "":
		return n.Pool
	}
	return "nowhere (no data)"
}

// firstPool is the pools a record answers from when all is well: the
// first one, or all of them for weighted and all-healthy records, as
// the controller writes them.
func firstPool(s *spec.Spec, name, typ string) string {
	if s == nil {
		return ""
	}
	for _, r := range s.Records {
		if r.Name != name || r.Type != typ || len(r.Pools) == 0 {
			continue
		}
		if r.Policy == spec.PolicyFailover {
			return r.Pools[0].Pool
		}
		var names []string
		for _, p := range r.Pools {
			names = append(names, p.Pool)
		}
		return strings.Join(names, ",")
	}
	return ""
}

func poolDC(s *spec.Spec, pool string) string {
	if s == nil {
		return ""
	}
	for _, p := range s.Pools {
		if p.Name == pool {
			return p.Datacenter
		}
	}
	return ""
}

// serviceName is the record's friendly name from the status page, or
// the record's own name.
func serviceName(s *spec.Spec, name, typ string) string {
	if s != nil && s.StatusPage != nil {
		for _, svc := range s.StatusPage.Services {
			if svc.Record == name && (svc.Type == "" || svc.Type == typ) {
				return svc.Name
			}
		}
	}
	return strings.TrimSuffix(name, ".")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// wants reports whether a channel's filters let n through.
func wants(f spec.ChannelFilters, n Notification, s *spec.Spec) bool {
	if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, n.Kind) {
		return false
	}
	if n.Severity != SeverityResolved && spec.SeverityRank(n.Severity) < spec.SeverityRank(f.MinSeverity) {
		return false
	}
	if len(f.Records) == 0 {
		return true
	}
	switch n.Kind {
	case "record":
		return slices.Contains(f.Records, n.Record)
	case "endpoint":
		if s == nil {
			return false
		}
		for _, r := range s.Records {
			if !slices.Contains(f.Records, r.Name) {
				continue
			}
			for _, p := range r.Pools {
				if p.Pool == n.Pool {
					return true
				}
			}
		}
		return false
	}
	return true
}
