// Package builtin is the table of providers compiled into detour: the one
// place a new provider type is wired in.
package builtin

import (
	"github.com/seed3787e6f1/detour/providers"
	"github.com/seed3787e6f1/detour/providers/cloudflare"
	"github.com/seed3787e6f1/detour/providers/rfc2136"
	"github.com/seed3787e6f1/detour/spec"
)

// Builders maps each spec provider type to its constructor.
func Builders() map[string]providers.Builder {
	return map[string]providers.Builder{
		spec.ProviderCloudflare: cloudflare.Build,
		spec.ProviderRFC2136:    rfc2136.Build,
	}
}
