package spec

import (
	"strings"
	"testing"
)

// `detour check` warns about receivers nodes refuse to connect to unless
// their notify_allow_networks allows them; it cannot know a node's
// settings, so it is a warning, not an error.
func TestLintForbiddenNotifyTargets(t *testing.T) {
	cases := []struct {
		name, channel, want string
	}{
		{"metadata webhook", "{name: w, type: webhook, url: 'http://169.254.169.254/latest/meta-data/'}", "notifications.channels[0].url: 169.254.169.254 is a loopback, link-local, metadata"},
		{"the node's own API", "{name: w, type: webhook, url: 'http://127.0.0.1:8053/v1/overrides/drain'}", "notifications.channels[0].url: 127.0.0.1 is"},
		{"ipv6 loopback slack", "{name: s, type: slack, url: 'http://[::1]:9/x'}", "notifications.channels[0].url: ::1 is"},
		{"localhost relay", "{name: m, type: email, smtp: {server: localhost, starttls: false, from: a@b.test, to: [c@d.test]}}", "notifications.channels[0].smtp.server: localhost is"},
		{"public webhook", "{name: w, type: webhook, url: 'https://hooks.example.test/x'}", ""},
		{"public relay", "{name: m, type: email, smtp: {server: 192.0.2.25, from: a@b.test, to: [c@d.test]}}", ""},
		{"pagerduty default", "{name: p, type: pagerduty, routing_key_env: DETOUR_NOTIFY_PD_KEY}", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Parse([]byte(base + "notifications: {channels: [" + c.channel + "]}\n"))
			if err != nil {
				t.Fatal(err)
			}
			var found []string
			for _, p := range s.Lint() {
				if strings.HasPrefix(p.Path, "notifications.") {
					found = append(found, p.String())
				}
			}
			switch {
			case c.want == "" && len(found) > 0:
				t.Errorf("lints %v, want none", found)
			case c.want != "" && (len(found) != 1 || !strings.HasPrefix(found[0], c.want)):
				t.Errorf("lints %v, want one starting %q", found, c.want)
			}
		})
	}
}
