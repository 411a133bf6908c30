// Package builtin is the table of providers compiled into detour: the one
// place a new provider type is wired in.
package builtin

import (
	"net/netip"

	"github.com/seed3787e6f1/detour/providers"
	"github.com/seed3787e6f1/detour/providers/cloudflare"
	"github.com/seed3787e6f1/detour/providers/rfc2136"
	"github.com/seed3787e6f1/detour/providers/route53"
	"github.com/seed3787e6f1/detour/spec"
)

// Builders maps each spec provider type to its constructor. dnsPeers
// lists the networks an RFC 2136 server may be in although refused by
// default (loopback, link-local, metadata...).
func Builders(dnsPeers []netip.Prefix) map[string]providers.Builder {
	return map[string]providers.Builder{
		spec.ProviderCloudflare: cloudflare.Build,
		spec.ProviderRFC2136:    rfc2136.Builder(dnsPeers),
		spec.ProviderRoute53:    route53.Build,
	}
}
