package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// A node pushes its record to Knot over RFC 2136; `detour status` shows
// the provider in sync from the replicated state, `detour plan` reads Knot
// and finds nothing to change, and an unknown provider is an error.
func TestPlanAndProviderStatus(t *testing.T) {
	const secret = "Wq1s7k8Hc2v6Zy1Xb0uQm3m3p6kY0b9dW7mJgQ9n1kY="
	zone := "$ORIGIN example.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\n"
	knot := testutil.StartKnotUpdate(t, "example.test.", zone, testutil.TSIGKey{Name: "detour-key", Algorithm: "hmac-sha256", Secret: secret})
	t.Setenv("DETOUR_TEST_TSIG", secret)
	specText := fmt.Sprintf(`zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
datacenters: [{name: a}, {name: b}, {name: c}]
pools:
  - {name: pa, datacenter: a, endpoints: [{address: 192.0.2.10}]}
  - {name: pb, datacenter: b, endpoints: [{address: 198.51.100.10}]}
records:
  - {name: www.example.test, type: A, ttl: 60, pools: [pa, pb]}
providers:
  - {name: knot, type: rfc2136, zone: example.test, server: %q, tsig_key: detour-key, tsig_secret_env: DETOUR_TEST_TSIG, drift_interval: 1s}
`, knot)
	specFile := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(specFile, []byte(specText), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(node.Config{Dev: true, DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", Spec: specFile}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(t.Context()) })
	apiURL := "http://" + n.APIAddr()

	deadline := time.Now().Add(20 * time.Second)
	for {
		code, out := runCLI("status", "--json", "--api", apiURL)
		var st api.Status
		if code == 0 {
			_ = json.Unmarshal([]byte(out[strings.Index(out, "{"):strings.LastIndex(out, "}")+1]), &st)
		}
		if len(st.Providers) == 1 && st.Providers[0].InSync && !st.Providers[0].LastSuccess.IsZero() {
			if st.Providers[0].By != "dev" || st.Providers[0].LastError != "" {
				t.Errorf("provider status: %+v", st.Providers[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the provider never showed in sync in status: %s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := strings.TrimSpace(testutil.Dig(t, knot, "+short", "www.example.test", "A")); got != "192.0.2.10" {
		t.Errorf("Knot holds %q for www", got)
	}
	code, out := runCLI("plan", "--api", apiURL)
	if code != 0 || !strings.Contains(out, "knot (rfc2136, zone example.test.): in sync, nothing to change") {
		t.Errorf("plan on a synced provider: exit %d\n%s", code, out)
	}
	code, out = runCLI("status", "--api", apiURL)
	if code != 0 || !strings.Contains(out, "PROVIDERS") || !strings.Contains(out, "knot (rfc2136, zone example.test.): in sync") {
		t.Errorf("status lacks the provider:\n%s", out)
	}
	code, out = runCLI("plan", "--provider", "nope", "--api", apiURL)
	if code != 1 || !strings.Contains(out, "nope") {
		t.Errorf("plan of an unknown provider: exit %d\n%s", code, out)
	}
}
