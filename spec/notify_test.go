package spec

import (
	"errors"
	"strings"
	"testing"
)

func TestNotifyValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra string
		want  []string // substrings of problems, "" for none
	}{
		{"webhook ok", "notifications: {channels: [{name: w, type: webhook, url: 'http://127.0.0.1:9/x', secret_env: S}]}", nil},
		{"unknown type", "notifications: {channels: [{name: w, type: sms}]}", []string{`notifications.channels[0].type: "sms" is not known (types: webhook, slack, email, pagerduty)`}},
		{"webhook without url", "notifications: {channels: [{name: w, type: webhook}]}", []string{"notifications.channels[0].url: is required"}},
		{"bad url", "notifications: {channels: [{name: s, type: slack, url: 'ftp://x'}]}", []string{`"ftp://x" is not an http(s) URL`}},
		{"duplicate names", "notifications: {channels: [{name: w, type: slack, url: 'http://a/'}, {name: w, type: slack, url: 'http://a/'}]}", []string{`notifications.channels[1].name: "w" is defined twice`}},
		{"secret on slack", "notifications: {channels: [{name: s, type: slack, url: 'http://a/', secret_env: X}]}", []string{"secret_env: applies to webhook channels only"}},
		{"pagerduty needs key", "notifications: {channels: [{name: p, type: pagerduty}]}", []string{"routing_key_env: is required"}},
		{"email needs smtp", "notifications: {channels: [{name: m, type: email}]}", []string{"notifications.channels[0].smtp: is required"}},
		{"email fields", "notifications: {channels: [{name: m, type: email, smtp: {server: s, username: u, from: nobody, to: []}}]}", []string{
			"username and password_env go together", `smtp.from: "nobody" is not a mail address`, "smtp.to: at least one recipient"}},
		{"filters", "notifications: {channels: [{name: w, type: slack, url: 'http://a/', filters: {kinds: [record, weather], min_severity: loud, records: [nope.example.test]}}]}", []string{
			`filters.kinds[1]: "weather"`, `filters.min_severity: "loud"`, `filters.records[0]: "nope.example.test"`}},
		{"status page ok", "status_page: {title: T, services: [{record: WWW.example.test, name: Web}]}", nil},
		{"status page unknown record", "status_page: {services: [{record: api.example.test, name: API}]}", []string{"status_page.services[0].record: api.example.test. is not a record of the spec (records: www.example.test. A)"}},
		{"status page bad logo", "status_page: {logo_url: 'javascript:alert(1)'}", []string{"status_page.logo_url"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse([]byte(base + tc.extra + "\n"))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if s.StatusPage != nil && s.StatusPage.Services[0].Record != "www.example.test." {
					t.Errorf("service record not normalised: %q", s.StatusPage.Services[0].Record)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("want an invalid spec, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("problems lack %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestNotifyDefaults(t *testing.T) {
	s, err := Parse([]byte(base + `notifications:
  channels:
    - {name: p, type: pagerduty, routing_key_env: K}
    - {name: m, type: email, smtp: {server: mail.test, from: a@b.test, to: [c@d.test]}}
status_page: {services: [{record: www.example.test}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	p := s.Notifications.Channels[0].Filters
	if p.MinSeverity != SeverityCritical || strings.Join(p.Kinds, ",") != "record,endpoint" {
		t.Errorf("pagerduty filters default: %+v", p)
	}
	m := s.Notifications.Channels[1].SMTP
	if m.Port != DefaultSMTPPort || m.StartTLS == nil || !*m.StartTLS {
		t.Errorf("smtp defaults: %+v", m)
	}
	if s.StatusPage.Title == "" || s.StatusPage.Services[0].Name != "www.example.test" {
		t.Errorf("status page defaults: %+v", s.StatusPage)
	}
	// The spec travels through Raft as YAML: it must survive a round trip.
	y, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(y)
	if err != nil {
		t.Fatalf("marshalled spec does not parse: %v\n%s", err, y)
	}
	if again.Notifications.Channels[1].SMTP.To[0] != "c@d.test" || again.StatusPage.Services[0].Record != "www.example.test." {
		t.Errorf("round trip lost fields:\n%s", y)
	}
}
