package spec

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// lintNotifyTargets warns about channels whose receiver is a literal
// forbidden address (or localhost): each node refuses to connect to it
// unless its own notify_allow_networks allows it, so the spec alone
// cannot say whether the channel will deliver.
func (s *Spec) lintNotifyTargets() []Problem {
	if s.Notifications == nil {
		return nil
	}
	var out []Problem
	for i, c := range s.Notifications.Channels {
		path, host := fmt.Sprintf("notifications.channels[%d].url", i), ""
		if u, err := url.Parse(c.URL); err == nil && c.URL != "" {
			host = u.Hostname()
		}
		if c.SMTP != nil {
			path, host = fmt.Sprintf("notifications.channels[%d].smtp.server", i), c.SMTP.Server
		}
		if forbiddenHost(host) {
			out = append(out, Problem{Path: path, Message: fmt.Sprintf(
				"%s is a loopback, link-local, metadata, multicast or unspecified address: nodes refuse to send to it (the channel keeps failing) unless their notify_allow_networks allows it", host)})
		}
	}
	return out
}

// forbiddenHost reports whether host is a literal forbidden address or a
// name that always means loopback (RFC 6761).
func forbiddenHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ForbiddenTarget(ip)
}
