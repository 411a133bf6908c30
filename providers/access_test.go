package providers

import (
	"errors"
	"testing"

	"github.com/seed3787e6f1/detour/spec"
)

func TestAccessCheck(t *testing.T) {
	cf := func(env, url string) spec.Provider {
		return spec.Provider{Name: "cf", Type: spec.ProviderCloudflare, APITokenEnv: env, BaseURL: url}
	}
	allow := Access{BaseURLs: []string{"http://127.0.0.1:8080/client/v4/", "cf-gw.internal.test", "gw2.internal.test:8443"}}
	cases := []struct {
		name string
		a    Access
		p    spec.Provider
		ok   bool
	}{
		{"default prefix", Access{}, cf("DETOUR_CF", ""), true},
		{"outside the default prefix", Access{}, cf("CLOUDFLARE_API_TOKEN", ""), false},
		{"the node's API tokens", Access{Env: spec.EnvPolicy{Spec: []string{""}}}, cf("DETOUR_API_TOKENS", ""), false},
		{"the CLI's token", Access{}, cf("DETOUR_TOKEN", ""), false},
		{"a prefix the node allows", Access{Env: spec.EnvPolicy{Spec: []string{"CF_"}}}, cf("CF_TOKEN", ""), true},
		{"a check header's variable", Access{}, cf("DETOUR_CHECK_AUTH", ""), false},
		{"a notification's variable", Access{}, cf("DETOUR_NOTIFY_PD_KEY", ""), false},
		{"a check header's variable, any prefix allowed", Access{Env: spec.EnvPolicy{Spec: []string{""}}}, cf("DETOUR_CHECK_AUTH", ""), false},
		{"tsig secret outside", Access{}, spec.Provider{Type: spec.ProviderRFC2136, TSIGSecretEnv: "HOME"}, false},
		{"official endpoint", Access{}, cf("DETOUR_CF", spec.CloudflareBaseURL), true},
		{"official host, other scheme", Access{}, cf("DETOUR_CF", "http://api.cloudflare.com/client/v4/"), false},
		{"any other URL", Access{}, cf("DETOUR_CF", "https://capture.example/client/v4/"), false},
		{"listed URL", allow, cf("DETOUR_CF", "http://127.0.0.1:8080/client/v4"), true},
		{"below a listed URL", allow, cf("DETOUR_CF", "http://127.0.0.1:8080/client/v4/x/"), true},
		{"beside a listed URL", allow, cf("DETOUR_CF", "http://127.0.0.1:8080/client/v40/"), false},
		{"listed URL, other port", allow, cf("DETOUR_CF", "http://127.0.0.1:8081/client/v4/"), false},
		{"listed host", allow, cf("DETOUR_CF", "https://cf-gw.internal.test:9443/v4/"), true},
		{"listed host:port", allow, cf("DETOUR_CF", "https://gw2.internal.test:8443/"), true},
		{"listed host, other port", allow, cf("DETOUR_CF", "https://gw2.internal.test:9443/"), false},
		{"user info", allow, cf("DETOUR_CF", "http://x@cf-gw.internal.test/"), false},
		{"route53 official endpoint", Access{}, spec.Provider{Type: spec.ProviderRoute53, BaseURL: spec.Route53BaseURL}, true},
		{"route53 elsewhere", Access{}, spec.Provider{Type: spec.ProviderRoute53, BaseURL: "https://capture.example/"}, false},
		{"cloudflare at route53's endpoint", Access{}, cf("DETOUR_CF", spec.Route53BaseURL), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.a.Check(c.p)
			if c.ok != (err == nil) {
				t.Fatalf("got %v, want ok=%v", err, c.ok)
			}
			if err != nil && (!errors.Is(err, ErrNotAllowed) || !errors.Is(err, ErrConfig)) {
				t.Errorf("%v is not ErrNotAllowed and ErrConfig", err)
			}
		})
	}
}
