package spec

import (
	"strings"
	"testing"
)

func TestLintCloudflareTTL(t *testing.T) {
	cf := "providers: [{name: cf, type: cloudflare, zone: example.test, zone_id: z, api_token_env: T%s}]\n"
	for _, tc := range []struct {
		name, record, extra string
		want                bool
	}{
		{"below 60", "ttl: 30", "", true},
		{"at 60", "ttl: 60", "", false},
		{"enterprise allows 30", "ttl: 30", ", enterprise: true", false},
		{"enterprise below 30", "ttl: 20", ", enterprise: true", true},
		{"proxied is auto", "ttl: 30, proxied: true", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(base, "pools: [pa, pb]}", "pools: [pa, pb], "+tc.record+"}", 1)
			text += strings.Replace(cf, "%s", tc.extra, 1)
			s, err := Parse([]byte(text))
			if err != nil {
				t.Fatal(err)
			}
			got := false
			for _, p := range s.Lint() {
				if p.Path == "records[0].ttl" && strings.Contains(p.Message, "provider cf (cloudflare)") {
					got = true
				}
			}
			if got != tc.want {
				t.Errorf("lint = %v, want %v: %v", got, tc.want, s.Lint())
			}
		})
	}
}
