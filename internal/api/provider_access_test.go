package api_test

import (
	"fmt"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/node"
)

// captureHTTP counts the requests an attacker's server would receive.
func captureHTTP(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, "captured", http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// providerSpec is the test spec with providers appended.
func providerSpec(t *testing.T, providers string) string {
	t.Helper()
	return specText(t) + "providers:\n" + providers
}

// The audit: a spec's provider named any environment variable of the
// node and any base_url; a reader calling /v1/providers/plan made the
// node send the secret to a capture server. Now the node reads only
// allowed variables (DETOUR_*, never its own tokens) and calls only the
// official endpoint or the base URLs it lists; a refusal is an error in
// the plan and in the status, and nothing reaches the server.
func TestProviderSecretsStayOnTheNode(t *testing.T) {
	t.Setenv("DETOUR_TEST_CF_TOKEN", "cf-token-that-must-stay-home")
	t.Setenv("TEST_TSIG_OUTSIDE_ALLOWLIST", "Wq1s7k8Hc2v6Zy1Xb0uQm3m3p6kY0b9dW7mJgQ9n1kY=")
	t.Setenv("DETOUR_API_TOKENS", "admin:admin:"+tokAdmin)
	capture, requests := captureHTTP(t)
	udp, datagrams := testutil.CountUDP(t)
	doc := providerSpec(t, fmt.Sprintf(`  - {name: cf-url, type: cloudflare, zone: example.test, zone_id: z1, api_token_env: DETOUR_TEST_CF_TOKEN, base_url: %q}
  - {name: cf-tokens, type: cloudflare, zone: example.test, zone_id: z2, api_token_env: DETOUR_API_TOKENS, base_url: %q}
  - {name: knot, type: rfc2136, zone: example.test, server: %q, tsig_key: k, tsig_secret_env: TEST_TSIG_OUTSIDE_ALLOWLIST}
`, capture.URL+"/client/v4/", capture.URL+"/client/v4/", udp))
	_, base := startNodeWith(t, doc, testTokens(), func(*node.Config) {})

	var plan api.PlanResponse
	getJSON(t, base, "/v1/providers/plan", tokRead, &plan)
	want := map[string]string{"cf-url": "provider_base_urls", "cf-tokens": "detour's own secret", "knot": "spec_env_prefixes"}
	if len(plan.Plans) != len(want) {
		t.Fatalf("plans: %+v", plan.Plans)
	}
	for _, p := range plan.Plans {
		if !strings.Contains(p.Error, "not allowed by this node") || !strings.Contains(p.Error, want[p.Provider]) {
			t.Errorf("plan %s: error %q, want a refusal naming %s", p.Provider, p.Error, want[p.Provider])
		}
	}
	// The leader's reconcilers meet the same refusal; status shows it.
	deadline := time.Now().Add(15 * time.Second)
	for {
		var st api.Status
		getJSON(t, base, "/v1/status", tokRead, &st)
		refused := 0
		for _, p := range st.Providers {
			if strings.Contains(p.LastError, "not allowed by this node") {
				refused++
			}
		}
		if refused == len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status does not show the refusals: %+v", st.Providers)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("the capture server received %d requests", n)
	}
	if n := datagrams.Load(); n != 0 {
		t.Errorf("the would-be RFC 2136 server received %d datagrams", n)
	}
}

// The control: a node that lists the base URL calls it. Without this the
// test above could pass because nothing was ever sent anywhere.
func TestProviderBaseURLAllowedByTheNode(t *testing.T) {
	t.Setenv("DETOUR_TEST_CF_TOKEN", "cf-token")
	capture, requests := captureHTTP(t)
	doc := providerSpec(t, fmt.Sprintf("  - {name: cf, type: cloudflare, zone: example.test, zone_id: z1, api_token_env: DETOUR_TEST_CF_TOKEN, base_url: %q}\n", capture.URL+"/client/v4/"))
	_, base := startNodeWith(t, doc, testTokens(), func(c *node.Config) { c.ProviderBaseURLs = []string{capture.URL + "/client/v4/"} })
	var plan api.PlanResponse
	getJSON(t, base, "/v1/providers/plan", tokRead, &plan)
	if len(plan.Plans) != 1 || strings.Contains(plan.Plans[0].Error, "not allowed") {
		t.Fatalf("plan: %+v", plan.Plans)
	}
	if requests.Load() == 0 {
		t.Error("the allowed base URL was never called")
	}
}
