package providers

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/seed3787e6f1/detour/spec"
)

// ErrNotAllowed: the spec asks a provider for something this node does
// not allow: an environment variable outside its allow-list, or a
// base_url it does not list. It wraps ErrConfig.
var ErrNotAllowed = fmt.Errorf("%w: not allowed by this node", ErrConfig)

// officialBaseURLs are the endpoints each provider type may call without
// the node listing them.
var officialBaseURLs = map[string]string{spec.ProviderCloudflare: spec.CloudflareBaseURL, spec.ProviderRoute53: spec.Route53BaseURL}

// Access is what a node lets the spec's providers reach. A spec is
// written by whoever holds an admin token, and a plan is triggered by
// whoever holds a read token: neither may point a node's secrets at a
// server of their choosing.
type Access struct {
	// Env is which environment variables a spec may name: a provider
	// reads only those allowed for provider and TSIG secrets
	// (spec.EnvProvider: DETOUR_ by default, never one under the check
	// or notification prefixes, never detour's own tokens).
	Env spec.EnvPolicy
	// BaseURLs are the base_url values a spec may give beyond each
	// provider's official endpoint: a URL ("http://127.0.0.1:8080/v4/",
	// matching it and the paths below it) or a host[:port]. Empty allows
	// none.
	BaseURLs []string
}

// Check says why the provider cfg may not be built on this node, or nil.
// It runs before any secret is read or any request sent.
func (a Access) Check(cfg spec.Provider) error {
	for _, ref := range []struct{ field, name string }{
		{"api_token_env", cfg.APITokenEnv},
		{"tsig_secret_env", cfg.TSIGSecretEnv},
	} {
		if ref.name == "" {
			continue
		}
		if err := a.Env.Allow(spec.EnvProvider, ref.name); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrNotAllowed, ref.field, err)
		}
	}
	if cfg.BaseURL != "" && !a.baseURLAllowed(cfg.Type, cfg.BaseURL) {
		return fmt.Errorf("%w: base_url %s is not the provider's official endpoint nor one this node lists (node setting provider_base_urls); nothing was sent to it",
			ErrNotAllowed, cfg.BaseURL)
	}
	return nil
}

// baseURLAllowed reports whether raw is typ's official endpoint or
// matches one of the node's allowed URLs or hosts.
func (a Access) baseURLAllowed(typ, raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	if official := officialBaseURLs[typ]; official != "" && underURL(u, official) {
		return true
	}
	for _, allowed := range a.BaseURLs {
		if strings.Contains(allowed, "://") {
			if underURL(u, allowed) {
				return true
			}
			continue
		}
		if strings.EqualFold(u.Host, allowed) || (!strings.Contains(allowed, ":") && strings.EqualFold(u.Hostname(), allowed)) {
			return true
		}
	}
	return false
}

// underURL reports whether u is base or a path below it: same scheme and
// host, and base's path a prefix of u's at a "/" boundary.
func underURL(u *url.URL, base string) bool {
	b, err := url.Parse(base)
	if err != nil {
		return false
	}
	if !strings.EqualFold(u.Scheme, b.Scheme) || !strings.EqualFold(u.Host, b.Host) {
		return false
	}
	want := strings.TrimSuffix(b.Path, "/") + "/"
	return strings.HasPrefix(strings.TrimSuffix(u.Path, "/")+"/", want)
}
