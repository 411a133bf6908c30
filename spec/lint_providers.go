package spec

import (
	"fmt"

	"github.com/miekg/dns"
)

// Cloudflare's TTL floor: 60 s, or 30 s on Enterprise zones; lower TTLs
// are raised by the provider.
const (
	CloudflareMinTTL           = 60
	CloudflareEnterpriseMinTTL = 30
)

// CloudflareBaseURL is Cloudflare's official API endpoint: the one
// base_url a node allows without being told (provider_base_urls).
const CloudflareBaseURL = "https://api.cloudflare.com/client/v4/"

// lintProviderTTLs warns about records whose TTL a Cloudflare provider
// carrying them would raise: detour's own servers answer with the spec's
// TTL, Cloudflare with its minimum, so resolvers behind Cloudflare keep a
// dead answer longer than the spec says.
func (s *Spec) lintProviderTTLs() []Problem {
	var out []Problem
	for i, r := range s.Records {
		for _, p := range s.Providers {
			if p.Type != ProviderCloudflare || r.Proxied {
				continue
			}
			min := uint32(CloudflareMinTTL)
			if p.Enterprise {
				min = CloudflareEnterpriseMinTTL
			}
			if r.TTL >= min || !dns.IsSubDomain(p.Zone, r.Name) || s.zoneFor(r.Name) != s.zoneFor(p.Zone) {
				continue
			}
			out = append(out, Problem{
				Path:    fmt.Sprintf("records[%d].ttl", i),
				Message: fmt.Sprintf("%d s is below what provider %s (cloudflare) accepts: Cloudflare answers with %d s, so resolvers behind it keep a dead answer up to that long", r.TTL, p.Name, min),
			})
		}
	}
	return out
}
