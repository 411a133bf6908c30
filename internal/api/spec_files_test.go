package api_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

// withZoneFile is the test spec with a zone importing path.
func withZoneFile(t *testing.T, path string) string {
	t.Helper()
	return strings.Replace(specText(t), "    static: |\n", "    file: "+path+"\n    static: |\n", 1)
}

// withCAFile is the test spec with an https check whose CA bundle is path.
func withCAFile(t *testing.T, path string) string {
	t.Helper()
	return strings.Replace(specText(t), "checks:\n", "checks:\n  - {name: secure, type: https, ca_file: "+path+"}\n", 1)
}

// A reader once sent a spec naming a file of the node (/proc/self/environ)
// to /v1/spec/diff and /v1/drill: the node read it, and the zone parser's
// error quoted its content, every token of the environment included.
// /dev/zero killed the node. Now a spec reaching the API must carry what
// it needs: any path in it is refused with 400, the file never opened.
func TestSpecNamingNodeFilesIsRefused(t *testing.T) {
	const secret = "hunter2-the-node-secret-0123456789"
	t.Setenv("DETOUR_TEST_SECRET", secret)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret.txt")
	if err := os.WriteFile(secretFile, []byte("token = "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A valid zone file: had the node read it, the spec would apply and
	// serve this address.
	zoneFile := filepath.Join(dir, "extra.zone")
	if err := os.WriteFile(zoneFile, []byte("leak IN A 192.0.2.250\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, base := startNode(t, specText(t), testTokens())
	before := snapshot(t, base)
	docs := map[string]string{
		"zone file /proc/self/environ": withZoneFile(t, "/proc/self/environ"),
		"zone file /dev/zero":          withZoneFile(t, "/dev/zero"),
		"zone file with a secret":      withZoneFile(t, secretFile),
		"valid zone file":              withZoneFile(t, zoneFile),
		"relative zone file":           withZoneFile(t, "extra.zone"),
		"ca_file with a secret":        withCAFile(t, secretFile),
		"ca_file /dev/zero":            withCAFile(t, "/dev/zero"),
	}
	routes := []struct {
		method, path, token string
		body                func(y string) any
	}{
		{"POST", "/v1/spec/diff", tokRead, func(y string) any { return api.SpecRequest{YAML: y} }},
		{"POST", "/v1/drill", tokRead, func(y string) any { return api.DrillRequest{Lose: "us-east", YAML: y} }},
		{"PUT", "/v1/spec", tokAdmin, func(y string) any { return api.SpecRequest{YAML: y} }},
	}
	for name, doc := range docs {
		for _, r := range routes {
			t.Run(name+" "+r.method+" "+r.path, func(t *testing.T) {
				code, body := call(t, base, r.method, r.path, r.token, r.body(doc))
				if code != 400 {
					t.Fatalf("%d, want 400: %s", code, body)
				}
				if !strings.Contains(string(body), "detour spec apply") {
					t.Errorf("the refusal does not say how to send the spec: %s", body)
				}
				for _, leak := range []string{secret, "hunter2", "192.0.2.250", "DETOUR_API"} {
					if strings.Contains(string(body), leak) {
						t.Errorf("the reply carries %q from the node's disk: %s", leak, body)
					}
				}
			})
		}
	}
	if after := snapshot(t, base); after != before {
		t.Errorf("a refused spec changed the state:\nbefore %s\nafter  %s", before, after)
	}
}

// What the CLI sends (spec.Load, then Marshal) carries the zone file and
// the CA bundle inline: once applied, the files can go, and every replica
// compiles the same spec from the log without reading anything.
func TestAppliedSpecCarriesItsFiles(t *testing.T) {
	dir := t.TempDir()
	zoneFile := filepath.Join(dir, "extra.zone")
	if err := os.WriteFile(zoneFile, []byte("inline IN A 192.0.2.251\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ca := testutil.NewCA(t)
	specFile := filepath.Join(dir, "spec.yaml")
	text := strings.Replace(withCAFile(t, ca.CAFile), "    static: |\n", "    file: extra.zone\n    static: |\n", 1)
	if err := os.WriteFile(specFile, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := spec.Load(specFile)
	if err != nil {
		t.Fatal(err)
	}
	y, err := loaded.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	pemText, err := os.ReadFile(ca.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	_, base := startNode(t, specText(t), testTokens())
	if code, body := call(t, base, "PUT", "/v1/spec", tokAdmin, api.SpecRequest{YAML: string(y)}); code != 200 {
		t.Fatalf("apply: %d %s", code, body)
	}
	var got api.SpecResponse
	getJSON(t, base, "/v1/spec", tokRead, &got)
	if strings.Contains(got.YAML, "ca_file") || strings.Contains(got.YAML, "file:") {
		t.Errorf("the spec in force names a file:\n%s", got.YAML)
	}
	applied, err := spec.Parse([]byte(got.YAML))
	if err != nil {
		t.Fatalf("the spec in force does not parse without its files: %v", err)
	}
	if strings.TrimSpace(applied.Checks[0].CAPEM) != strings.TrimSpace(string(pemText)) {
		t.Errorf("ca_pem in force is not the CA bundle:\n%s", applied.Checks[0].CAPEM)
	}
	if !strings.Contains(got.YAML, "192.0.2.251") {
		t.Errorf("the zone file's record is not in the spec in force:\n%s", got.YAML)
	}
}

// The audit's crash-looping specs, sent over the API: a spec over the
// limits, or with a CA bundle that would fail to load, is refused before
// it is proposed, with the limit and the value found.
func TestSpecOverLimitsIsRefused(t *testing.T) {
	_, base := startNode(t, specText(t), testTokens())
	before := snapshot(t, base)
	many := func(n int, interval string) string {
		text := specText(t)
		text = strings.Replace(text, "interval: 200ms, timeout: 100ms", "interval: "+interval+", timeout: 100ms", 1)
		var b strings.Builder
		b.WriteString("  - name: many\n    datacenter: us-east\n    check: web\n    endpoints:\n")
		for i := range n {
			fmt.Fprintf(&b, "      - {address: 10.%d.%d.%d, check_address: \"127.0.0.1:1\"}\n", i>>16&255, i>>8&255, i&255)
		}
		return strings.Replace(text, "records:\n", b.String()+"records:\n", 1)
	}
	cases := map[string]struct{ doc, want string }{
		"one endpoint too many": {many(spec.MaxEndpoints-2, "10s"), fmt.Sprintf("%d is over the limit of %d", spec.MaxEndpoints+1, spec.MaxEndpoints)},
		"probe rate":            {many(spec.MaxProbeRate/10+100, "100ms"), fmt.Sprintf("over the limit of %d", spec.MaxProbeRate)},
		"bad ca_pem":            {strings.Replace(specText(t), "checks:\n", "checks:\n  - {name: secure, type: https, ca_pem: \"not a certificate\"}\n", 1), "checks[0].ca_pem"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			// A spec past 1 MiB goes compressed, as the CLI sends it.
			data, _ := json.Marshal(api.SpecRequest{YAML: c.doc})
			code, raw := call(t, base, "PUT", "/v1/spec", tokAdmin, data)
			body := string(raw)
			if len(data) > api.MaxBody {
				code, body = sendUpload(t, base, "PUT", "/v1/spec", tokAdmin, gz(t, data), true)
			}
			if code != 400 || !strings.Contains(body, c.want) {
				t.Fatalf("%d %.300s, want 400 saying %q", code, body, c.want)
			}
		})
	}
	if after := snapshot(t, base); after != before {
		t.Errorf("a refused spec changed the state")
	}
}
