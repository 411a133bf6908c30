package spec

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// Notification channel types and severities.
const (
	ChannelWebhook   = "webhook"
	ChannelSlack     = "slack"
	ChannelEmail     = "email"
	ChannelPagerDuty = "pagerduty"

	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"

	DefaultSMTPPort = 587
)

var (
	channelTypes = []string{ChannelWebhook, ChannelSlack, ChannelEmail, ChannelPagerDuty}
	severities   = []string{SeverityInfo, SeverityWarning, SeverityCritical}
	// EventKinds are the kinds of the event log a channel may filter on.
	EventKinds = []string{"spec", "endpoint", "record", "override", "observer", "member", "incident", "failback"}
)

// Notifications lists the channels the leader tells of committed events.
type Notifications struct {
	Channels []Channel `yaml:"channels" json:"channels"`
}

// Channel is one destination of notifications. Secrets are never in the
// spec: *_env fields name environment variables read on each node.
type Channel struct {
	Name string `yaml:"name" json:"name"`
	Type string `yaml:"type" json:"type"`
	// URL is where webhook and slack channels post; for pagerduty it
	// overrides the Events API v2 endpoint (gateways and tests).
	URL string `yaml:"url" json:"url,omitempty"`
	// SecretEnv names the variable holding the webhook's HMAC secret.
	SecretEnv string `yaml:"secret_env" json:"secret_env,omitempty"`
	// RoutingKeyEnv names the variable holding PagerDuty's routing key.
	RoutingKeyEnv string `yaml:"routing_key_env" json:"routing_key_env,omitempty"`
	SMTP          *SMTP  `yaml:"smtp,omitempty" json:"smtp,omitempty"`
	// Filters say which events the channel hears; none means all (for
	// pagerduty: record and endpoint events of critical severity).
	Filters ChannelFilters `yaml:"filters,omitempty" json:"filters,omitzero"`
}

// SMTP says how an email channel sends mail.
type SMTP struct {
	Server string `yaml:"server" json:"server"`
	Port   int    `yaml:"port,omitempty" json:"port,omitempty"`
	// StartTLS requires STARTTLS before authenticating (default true);
	// false sends in the clear, for a relay on loopback.
	StartTLS    *bool    `yaml:"starttls,omitempty" json:"starttls,omitempty"`
	Username    string   `yaml:"username,omitempty" json:"username,omitempty"`
	PasswordEnv string   `yaml:"password_env,omitempty" json:"password_env,omitempty"`
	From        string   `yaml:"from" json:"from"`
	To          []string `yaml:"to" json:"to"`
}

// ChannelFilters narrow what a channel hears.
type ChannelFilters struct {
	// Kinds of events (spec, endpoint, record, override, observer,
	// member, incident, failback); empty means all.
	Kinds []string `yaml:"kinds,omitempty" json:"kinds,omitempty"`
	// MinSeverity is info (default), warning or critical. Recoveries
	// pass any filter, so every alert hears of its end.
	MinSeverity string `yaml:"min_severity,omitempty" json:"min_severity,omitempty"`
	// Records restricts record events to these records, and endpoint
	// events to the pools they use.
	Records []string `yaml:"records,omitempty" json:"records,omitempty"`
}

// StatusPage configures the page every node serves on its status_addr.
type StatusPage struct {
	Title   string `yaml:"title,omitempty" json:"title,omitempty"`
	LogoURL string `yaml:"logo_url,omitempty" json:"logo_url,omitempty"`
	// Services are the records shown, with friendly names; empty shows
	// every record under its own name.
	Services []Service `yaml:"services,omitempty" json:"services,omitempty"`
	// AutoIncident opens an incident when a record fails over (or
	// updates the open one), for operators to edit.
	AutoIncident bool `yaml:"auto_incident,omitempty" json:"auto_incident,omitempty"`
	// AutoResolve resolves the automatic incident once every service it
	// concerns has been back on its first choice this long; zero (the
	// default) leaves resolving to an operator.
	AutoResolve Duration `yaml:"auto_resolve,omitempty" json:"auto_resolve,omitempty"`
}

// Service is one record shown on the status page.
type Service struct {
	Record string `yaml:"record" json:"record"`
	// Type is the record's type; empty means the only record of that
	// name.
	Type string `yaml:"type,omitempty" json:"type,omitempty"`
	Name string `yaml:"name" json:"name"`
}

// SeverityRank orders severities: info < warning < critical; unknown
// ranks lowest.
func SeverityRank(s string) int {
	for i, v := range severities {
		if v == s {
			return i
		}
	}
	return 0
}

func (s *Spec) validateNotify(e *Error) {
	if n := s.Notifications; n != nil {
		seen := map[string]bool{}
		for i := range n.Channels {
			s.validateChannel(e, &n.Channels[i], fmt.Sprintf("notifications.channels[%d]", i), seen)
		}
	}
	if p := s.StatusPage; p != nil {
		if p.Title == "" {
			p.Title = "Service status"
		}
		if p.AutoResolve < 0 {
			e.add("status_page.auto_resolve", "%s is negative (want a duration such as 30m, or 0 for never)", p.AutoResolve.D())
		}
		if p.LogoURL != "" && !isHTTPURL(p.LogoURL) {
			e.add("status_page.logo_url", "%q is not an http(s) URL", p.LogoURL)
		}
		for i := range p.Services {
			svc := &p.Services[i]
			path := fmt.Sprintf("status_page.services[%d]", i)
			if svc.Record == "" {
				e.add(path+".record", "is required (records: %s)", s.recordList())
				continue
			}
			svc.Record, svc.Type = dns.CanonicalName(svc.Record), strings.ToUpper(svc.Type)
			if n := s.countRecords(svc.Record, svc.Type); n == 0 {
				e.add(path+".record", "%s is not a record of the spec (records: %s)", strings.TrimSpace(svc.Record+" "+svc.Type), s.recordList())
			} else if n > 1 {
				e.add(path+".type", "%s has several records; say which type", svc.Record)
			}
			if svc.Name == "" {
				svc.Name = strings.TrimSuffix(svc.Record, ".")
			}
		}
	}
}

func (s *Spec) validateChannel(e *Error, c *Channel, path string, seen map[string]bool) {
	switch {
	case c.Name == "":
		e.add(path+".name", "is required")
	case !simpleName.MatchString(c.Name):
		e.add(path+".name", "%q: use letters, digits, '-', '_' and '.'", c.Name)
	case seen[c.Name]:
		e.add(path+".name", "%q is defined twice", c.Name)
	}
	seen[c.Name] = true
	needURL := func(what string) {
		if c.URL == "" {
			e.add(path+".url", "is required for %s", what)
		} else if !isHTTPURL(c.URL) {
			e.add(path+".url", "%q is not an http(s) URL", c.URL)
		}
	}
	onlyFor := func(field, value, typ string) {
		if value != "" && c.Type != typ {
			e.add(path+"."+field, "applies to %s channels only", typ)
		}
	}
	onlyFor("secret_env", c.SecretEnv, ChannelWebhook)
	onlyFor("routing_key_env", c.RoutingKeyEnv, ChannelPagerDuty)
	if c.SMTP != nil && c.Type != ChannelEmail {
		e.add(path+".smtp", "applies to email channels only")
	}
	switch c.Type {
	case ChannelWebhook:
		needURL("a webhook (where events are posted)")
	case ChannelSlack:
		needURL("slack (the incoming webhook's URL)")
	case ChannelPagerDuty:
		if c.URL != "" && !isHTTPURL(c.URL) {
			e.add(path+".url", "%q is not an http(s) URL", c.URL)
		}
		if c.RoutingKeyEnv == "" {
			e.add(path+".routing_key_env", "is required for pagerduty: the environment variable holding the integration's routing key")
		}
		if len(c.Filters.Kinds) == 0 && c.Filters.MinSeverity == "" {
			c.Filters.Kinds, c.Filters.MinSeverity = []string{"record", "endpoint"}, SeverityCritical
		}
	case ChannelEmail:
		if c.URL != "" {
			e.add(path+".url", "does not apply to email channels (use smtp)")
		}
		s.validateSMTP(e, c.SMTP, path+".smtp")
	default:
		e.add(path+".type", "%s (types: %s)", quoteOrMissing(c.Type), strings.Join(channelTypes, ", "))
	}
	f := &c.Filters
	for j, k := range f.Kinds {
		if !slices.Contains(EventKinds, k) {
			e.add(fmt.Sprintf("%s.filters.kinds[%d]", path, j), "%q (kinds: %s)", k, strings.Join(EventKinds, ", "))
		}
	}
	if f.MinSeverity == "" {
		f.MinSeverity = SeverityInfo
	}
	if !slices.Contains(severities, f.MinSeverity) {
		e.add(path+".filters.min_severity", "%q (severities: %s)", f.MinSeverity, strings.Join(severities, ", "))
	}
	for j, r := range f.Records {
		f.Records[j] = dns.CanonicalName(r)
		if s.countRecords(f.Records[j], "") == 0 {
			e.add(fmt.Sprintf("%s.filters.records[%d]", path, j), "%q is not a record of the spec (records: %s)", r, s.recordList())
		}
	}
}

func (s *Spec) validateSMTP(e *Error, m *SMTP, path string) {
	if m == nil {
		e.add(path, "is required for email: server, from and to")
		return
	}
	if m.Server == "" {
		e.add(path+".server", "is required: the SMTP relay's host name")
	}
	if m.Port == 0 {
		m.Port = DefaultSMTPPort
	}
	if m.Port < 1 || m.Port > 65535 {
		e.add(path+".port", "%d is not a port (1-65535)", m.Port)
	}
	if m.StartTLS == nil {
		t := true
		m.StartTLS = &t
	}
	if (m.Username == "") != (m.PasswordEnv == "") {
		e.add(path, "username and password_env go together: the password comes from the environment variable password_env names")
	}
	if !strings.Contains(m.From, "@") {
		e.add(path+".from", "%q is not a mail address", m.From)
	}
	if len(m.To) == 0 {
		e.add(path+".to", "at least one recipient is required")
	}
	for j, to := range m.To {
		if !strings.Contains(to, "@") || strings.ContainsAny(to, "\r\n") {
			e.add(fmt.Sprintf("%s.to[%d]", path, j), "%q is not a mail address", to)
		}
	}
}

func (s *Spec) countRecords(name, typ string) int {
	n := 0
	for _, r := range s.Records {
		if r.Name == name && (typ == "" || strings.EqualFold(r.Type, typ)) {
			n++
		}
	}
	return n
}

func (s *Spec) recordList() string {
	var n []string
	for _, r := range s.Records {
		n = append(n, r.Name+" "+r.Type)
	}
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ", ")
}

func isHTTPURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
