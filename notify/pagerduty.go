package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// PagerDutyURL is the Events API v2 endpoint.
const PagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

// PagerDuty triggers an alert on a failover or a down endpoint and
// resolves it on recovery. The dedup_key is per record (record events)
// or per datacenter (endpoint events), so one alert follows one thing
// through its outage.
type PagerDuty struct {
	// URL overrides PagerDutyURL (gateways and tests).
	URL           string
	RoutingKeyEnv string
	deps          Deps
}

// PagerDutyEvent is an Events API v2 event.
type PagerDutyEvent struct {
	RoutingKey  string            `json:"routing_key"`
	EventAction string            `json:"event_action"` // trigger, resolve
	DedupKey    string            `json:"dedup_key"`
	Payload     *PagerDutyPayload `json:"payload,omitempty"`
	Client      string            `json:"client,omitempty"`
}

// PagerDutyPayload describes a triggered alert.
type PagerDutyPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"` // critical, error, warning, info
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// Deliver implements Channel.
func (p *PagerDuty) Deliver(ctx context.Context, n Notification) error {
	key := p.deps.getenv(p.RoutingKeyEnv)
	if key == "" {
		return fmt.Errorf("%w: %s (the pagerduty routing_key_env)", ErrNoSecret, p.RoutingKeyEnv)
	}
	ev := pagerDutyEvent(n, key)
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	url := p.URL
	if url == "" {
		url = PagerDutyURL
	}
	return post(ctx, p.deps.client, url, body, nil)
}

// DedupKey is the alert a notification belongs to: its record, its
// datacenter, or its own event.
func DedupKey(n Notification) string {
	switch {
	case n.Kind == "record":
		return "detour/record/" + n.Record + " " + n.RecordType
	case n.Kind == "endpoint" && n.Datacenter != "":
		return "detour/datacenter/" + n.Datacenter
	case n.Kind == "endpoint":
		return "detour/pool/" + n.Pool
	case n.Kind == "incident":
		return "detour/incident/" + n.Subject
	}
	return "detour/event/" + n.ID
}

func pagerDutyEvent(n Notification, key string) PagerDutyEvent {
	ev := PagerDutyEvent{RoutingKey: key, DedupKey: DedupKey(n), Client: "detour"}
	if n.Severity == SeverityResolved {
		ev.EventAction = "resolve"
		return ev
	}
	ev.EventAction = "trigger"
	sev := n.Severity
	if sev != SeverityCritical && sev != SeverityWarning {
		sev = "info"
	}
	ev.Payload = &PagerDutyPayload{
		Summary:   truncate(n.Title, 1024),
		Source:    "detour",
		Severity:  sev,
		Timestamp: n.Time.UTC().Format(time.RFC3339),
		Component: firstNonEmpty(n.Record, n.Pool),
		Group:     n.Datacenter,
		Class:     n.Kind,
		CustomDetails: map[string]any{
			"message": n.Message, "event": n.ID, "subject": n.Subject,
		},
	}
	return ev
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
