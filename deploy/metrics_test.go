package deploy_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/cfemu"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"gopkg.in/yaml.v3"
)

// promtool checks the rules and runs their unit tests: series that make
// each alert fire, and series that must not.
func TestPrometheusRules(t *testing.T) {
	promtool := testutil.Require(t, "promtool")
	for _, args := range [][]string{
		{"check", "rules", "prometheus/detour-rules.yml"},
		{"test", "rules", "prometheus/detour-rules_test.yml"},
	} {
		if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

var metricName = regexp.MustCompile(`\bdetour_[a-z0-9_]+`)

// usedMetrics are the detour metric names in the rules' and the
// dashboard's expressions.
func usedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	used := map[string][]string{}
	add := func(where, expr string) {
		for _, m := range metricName.FindAllString(expr, -1) {
			if !slices.Contains(used[m], where) {
				used[m] = append(used[m], where)
			}
		}
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert, Expr string
			}
		}
	}
	readYAML(t, "prometheus/detour-rules.yml", &rules)
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			add("rule "+r.Alert, r.Expr)
		}
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct{ Name, Query string }
		}
	}
	data, err := os.ReadFile("grafana/detour.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("grafana/detour.json: %v", err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			add("panel "+p.Title, tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		add("variable "+v.Name, v.Query)
	}
	if len(used) < 20 {
		t.Fatalf("only %d metric names found in the rules and the dashboard: %v", len(used), used)
	}
	return used
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// Every metric the rules and the dashboard use is exported by a real
// node: one node over mutual TLS (the certificate's expiry), with a
// Cloudflare provider (the emulator), a notification channel, a check
// and a record whose site goes down (a failover to its fallback).
func TestRulesAndDashboardUseExportedMetrics(t *testing.T) {
	used := usedMetrics(t)
	scrape, siteDown, certFile := startMonitoredNode(t)
	missing := func() []string {
		exported := map[string]bool{}
		for _, line := range strings.Split(scrape(), "\n") {
			if name, _, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
				name, _, _ = strings.Cut(name, "{")
				exported[name] = true
			}
		}
		var out []string
		for m, where := range used {
			if !exported[m] {
				out = append(out, fmt.Sprintf("%s (%s)", m, strings.Join(where, ", ")))
			}
		}
		slices.Sort(out)
		return out
	}
	testutil.Eventually(t, "the site's endpoint judged up", 30*time.Second, func() bool {
		return strings.Contains(scrape(), `detour_endpoint_up{address="192.0.2.10",pool="web"} 1`)
	})
	siteDown()
	deadline := time.Now().Add(30 * time.Second)
	for m := missing(); len(m) > 0; m = missing() {
		if time.Now().After(deadline) {
			t.Fatalf("used but not exported by a running node:\n  %s", strings.Join(m, "\n  "))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// And what the new ones say of this node: a ready leader of one
	// voter, its own observer fresh, the webhook delivering, the
	// certificate's expiry as issued, the record on its fallback.
	metrics := scrape()
	values := map[string]float64{}
	for _, line := range strings.Split(metrics, "\n") {
		if series, v, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
			values[series], _ = strconv.ParseFloat(v, 64)
		}
	}
	for series, want := range map[string]float64{"detour_ready": 1, "detour_raft_voters": 1, "detour_raft_voters_up": 1,
		`detour_raft_voter_reachable{member="n-1"}`: 1, `detour_observer_fresh{observer="n-1"}`: 1,
		`detour_notify_channel_failing{channel="ops-webhook"}`: 0, `detour_notify_dropped_total{channel="ops-webhook"}`: 0,
		`detour_tls_cert_expiry_timestamp_seconds{cert="node"}`:       float64(certNotAfter(t, certFile).Unix()),
		`detour_record_fallback{record="www.example.test.",type="A"}`: 1} {
		if got, ok := values[series]; !ok || got != want {
			t.Errorf("%s = %v (exported: %v), want %v\n%s", series, got, ok, want, grepDetour(metrics))
		}
	}
}

func certNotAfter(t *testing.T, file string) time.Time {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c.NotAfter
}

func grepDetour(metrics string) string {
	var out []string
	for _, l := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(l, "detour_") && !strings.HasPrefix(l, "detour_health_probe_duration") && !strings.HasPrefix(l, "detour_dns_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// startMonitoredNode starts the node and returns a scrape of its
// /metrics, a function that takes its site down, and its certificate.
func startMonitoredNode(t *testing.T) (scrape func() string, siteDown func(), certFile string) {
	t.Helper()
	const token, zoneID = "cf-test-token", "0123456789abcdef0123456789abcdef"
	emu := cfemu.New(token, zoneID)
	t.Cleanup(emu.Close)
	t.Setenv("DETOUR_CF_TOKEN", token)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(site.Close)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(hook.Close)
	dir := t.TempDir()
	specFile := filepath.Join(dir, "spec.yaml")
	specText := fmt.Sprintf(`zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: "ns1 IN A 127.0.0.1\n"
datacenters: [{name: a}]
checks:
  - {name: web, type: http, path: /, expect_body: ok, interval: 200ms, timeout: 150ms, rise: 1, fall: 1}
pools:
  - {name: web, datacenter: a, check: web, endpoints: [{address: 192.0.2.10, check_address: %q}]}
records:
  - {name: www.example.test, type: A, ttl: 60, pools: [web], fallback: [192.0.2.99]}
providers:
  - {name: cf, type: cloudflare, zone: example.test, zone_id: %s, api_token_env: DETOUR_CF_TOKEN, base_url: %q}
notifications:
  channels:
    - {name: ops-webhook, type: webhook, url: %q}
`, site.Listener.Addr().String(), zoneID, emu.BaseURL(), hook.URL)
	if err := os.WriteFile(specFile, []byte(specText), 0o644); err != nil {
		t.Fatal(err)
	}
	ca := testutil.NewCA(t)
	cert, key := ca.Issue(t, "n-1")
	raft := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	n, err := node.Start(node.Config{NodeID: "n-1", Datacenter: "a", RaftAddr: raft, Peers: []node.Peer{{ID: "n-1", Address: raft}},
		DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", DataDir: filepath.Join(dir, "data"), Spec: specFile,
		TLSCA: ca.CAFile, TLSCert: cert, TLSKey: key, Timing: node.DevTiming,
		CheckAllowNetworks: []string{"127.0.0.0/8"}, NotifyAllowNetworks: []string{"127.0.0.0/8"},
		ProviderBaseURLs: []string{emu.BaseURL()}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	client := tlsClient(t, ca.CAFile, cert, key)
	return func() string {
		resp, err := client.Get("https://" + n.APIAddr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/metrics: %d %s", resp.StatusCode, body)
		}
		return string(body)
	}, site.Close, cert
}

func tlsClient(t *testing.T, caFile, cert, key string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	kp, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{kp}}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Timeout: 5 * time.Second, Transport: tr}
}
