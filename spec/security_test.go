package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// withZone is base with more zone data.
func withZone(lines string) string {
	return strings.Replace(base, "      ns1 IN A 127.0.0.1\n", "      ns1 IN A 127.0.0.1\n"+lines, 1)
}

// Parse never reads a file: a spec naming one is refused, whatever the
// file, and the file's content appears nowhere in the error.
func TestParseRefusesPaths(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("supersecret-token-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{
		"zone file":    strings.Replace(base, "    static: |\n", "    file: "+secret+"\n    static: |\n", 1),
		"/dev/zero":    strings.Replace(base, "    static: |\n", "    file: /dev/zero\n    static: |\n", 1),
		"ca_file":      strings.Replace(base, "checks:\n", "checks:\n  - {name: s, type: https, ca_file: "+secret+"}\n", 1),
		"ca_file zero": strings.Replace(base, "checks:\n", "checks:\n  - {name: s, type: https, ca_file: /dev/zero}\n", 1),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(doc))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "detour spec apply") {
				t.Fatalf("got %v, want a refusal pointing at `detour spec apply`", err)
			}
			if strings.Contains(err.Error(), "supersecret") {
				t.Errorf("the error quotes the file: %v", err)
			}
		})
	}
}

// Load reads what a local spec names, within bounds: a device or an
// oversized file is refused without being read whole (the audit's
// ca_file: /dev/zero killed every node at apply).
func TestLoadBoundsFiles(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.zone")
	if err := os.WriteFile(big, []byte(strings.Repeat("; padding line\n", MaxZoneTextBytes/15+2)), 0o600); err != nil {
		t.Fatal(err)
	}
	bigPEM := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(bigPEM, make([]byte, MaxCAPEMBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, doc, want string }{
		{"zone file /dev/zero", strings.Replace(base, "    static: |\n", "    file: /dev/zero\n    static: |\n", 1), "not a regular file"},
		{"ca_file /dev/zero", strings.Replace(base, "checks:\n", "checks:\n  - {name: s, type: https, ca_file: /dev/zero}\n", 1), "not a regular file"},
		{"zone file too big", strings.Replace(base, "    static: |\n", "    file: big.zone\n    static: |\n", 1), "over the limit"},
		{"ca_file too big", strings.Replace(base, "checks:\n", "checks:\n  - {name: s, type: https, ca_file: big.pem}\n", 1), "over the limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := filepath.Join(dir, "spec.yaml")
			if err := os.WriteFile(f, []byte(c.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(f)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
	t.Run("spec too big once its zone files are inlined", func(t *testing.T) {
		// Three zones import one file of 22 MiB: each within the zone
		// limit, 66 MiB together.
		part := filepath.Join(dir, "part.zone")
		if err := os.WriteFile(part, []byte(strings.Repeat("; padding line\n", (MaxSpecBytes/3+1<<20)/15)), 0o600); err != nil {
			t.Fatal(err)
		}
		doc := base
		for _, name := range []string{"a.test", "b.test", "c.test"} {
			doc = strings.Replace(doc, "zones:\n", "zones:\n  - {name: "+name+", file: part.zone}\n", 1)
		}
		f := filepath.Join(dir, "spec.yaml")
		if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(f); err == nil || !strings.Contains(err.Error(), "with its files inlined") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("spec file /dev/zero", func(t *testing.T) {
		if _, err := Load("/dev/zero"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("got %v", err)
		}
	})
}

// ca_pem is checked when the spec is validated, not when a node applies
// it: a bundle with no certificate is a problem at its path.
func TestCAPEMValidated(t *testing.T) {
	for name, pem := range map[string]string{
		"not PEM":     "hello",
		"a key":       "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		"bad cert":    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		"empty block": "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
	} {
		t.Run(name, func(t *testing.T) {
			doc := strings.Replace(base, "checks:\n", fmt.Sprintf("checks:\n  - {name: s, type: https, ca_pem: %q}\n", pem), 1)
			_, err := Parse([]byte(doc))
			if err == nil || !strings.Contains(err.Error(), "checks[0].ca_pem") {
				t.Fatalf("got %v, want a problem at checks[0].ca_pem", err)
			}
		})
	}
}

// A zone parse error quotes at most an excerpt of the offending text,
// escaped: the audit got a whole environment back through one.
func TestZoneErrorsQuoteAnExcerpt(t *testing.T) {
	long := "AAAA" + strings.Repeat("x", 500) + "TAIL"
	for name, line := range map[string]string{
		"bad address":   "www IN A " + long,
		"unknown type":  "www IN " + long + " 1",
		"control bytes": "www IN A \"\x01\x02" + long + "\"",
		"environ-like":  "DETOUR_API_TOKENS=admin:" + long + "\x00HOME=/root",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(withZone("      " + strings.ReplaceAll(line, "\x00", "\\0") + "\n")))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "TAIL") || strings.Contains(msg, strings.Repeat("x", MaxExcerpt+1)) {
				t.Errorf("the error quotes more than %d bytes of input: %s", MaxExcerpt, msg)
			}
			if strings.ContainsAny(msg, "\x01\x02\x00") {
				t.Errorf("the error carries raw control bytes: %q", msg)
			}
		})
	}
	// Unknown keys and bad values in YAML are cut too.
	_, err := Parse([]byte(base + "x" + strings.Repeat("y", 300) + "TAIL: 1\n"))
	if err == nil || strings.Contains(err.Error(), "TAIL") {
		t.Errorf("an unknown key is quoted whole: %v", err)
	}
}

// The audit's specs: a million endpoints passed `detour check` and took
// a node to 4.9 GB; 30,000 endpoints at 100 ms took 1.26 of 2 CPUs. Now
// validation names the limit and the value found, and refuses them fast.
func TestLimits(t *testing.T) {
	pools := func(n int, interval string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "zones:\n  - name: example.test\n    soa: {mname: ns1.example.test., rname: h.example.test.}\n    nameservers: [ns1.example.test.]\n")
		fmt.Fprintf(&b, "datacenters: [{name: a}]\nchecks: [{name: c, type: tcp, port: 80, interval: %s, timeout: 50ms}]\n", interval)
		b.WriteString("pools:\n  - name: p\n    datacenter: a\n    check: c\n    endpoints:\n")
		for i := range n {
			fmt.Fprintf(&b, "      - {address: 10.%d.%d.%d}\n", i>>16&255, i>>8&255, i&255)
		}
		return b.String()
	}
	cases := []struct {
		name, doc string
		want      string
	}{
		{"endpoints", pools(MaxEndpoints+1, "10s"), fmt.Sprintf("%d is over the limit of %d", MaxEndpoints+1, MaxEndpoints)},
		{"probe rate", pools(MaxProbeRate/10+100, "100ms"), fmt.Sprintf("%d probes per second from each node, over the limit of %d", MaxProbeRate+1000, MaxProbeRate)},
		{"spec size", base + "# " + strings.Repeat("x", MaxSpecBytes) + "\n", fmt.Sprintf("over the limit of %d bytes", MaxSpecBytes)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			_, err := Parse([]byte(c.doc))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			t.Logf("refused in %s", time.Since(start))
		})
	}
	// $GENERATE makes 65,536 records a line: the budget stops the parse
	// at the limit, not after (checked here with a small budget).
	budget := 1_000
	z := &Zone{Name: "example.test.", TTL: 3600, Static: "$GENERATE 0-60000 h$ A 192.0.2.1\n$GENERATE 0-60000 g$ A 192.0.2.1\n"}
	start := time.Now()
	if _, problems := compileZone(z, &budget); len(problems) == 0 || !strings.Contains(problems[0].Message, "static records") {
		t.Errorf("$GENERATE past the budget: %v", problems)
	}
	t.Logf("$GENERATE refused in %s", time.Since(start))
	// Within the limits, the same shape is valid.
	if _, err := Parse([]byte(pools(400, "100ms"))); err != nil {
		t.Fatalf("4,000 probes/s: %v", err)
	}
}

// Lint warns when the checks would take more than a quarter of a core,
// by the benchmark's per-probe cost.
func TestLintProbeLoad(t *testing.T) {
	doc := func(n int, keepAlive bool) string {
		var b strings.Builder
		fmt.Fprintf(&b, "zones:\n  - name: example.test\n    soa: {mname: ns1.example.test., rname: h.example.test.}\n    nameservers: [ns1.example.test.]\n")
		fmt.Fprintf(&b, "datacenters: [{name: a}]\nchecks: [{name: c, type: http, interval: 1s, timeout: 500ms, keep_alive: %v}]\n", keepAlive)
		b.WriteString("pools:\n  - name: p\n    datacenter: a\n    check: c\n    endpoints:\n")
		for i := range n {
			fmt.Fprintf(&b, "      - {address: 10.0.%d.%d}\n", i>>8&255, i&255)
		}
		return b.String()
	}
	warns := func(text string) bool {
		s, err := Parse([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range s.Lint() {
			if p.Path == "checks" && strings.Contains(p.Message, "of a core") {
				return true
			}
		}
		return false
	}
	// 3,000 probes/s: 0.26 cores a connection each, 0.12 with keep_alive.
	if !warns(doc(3000, false)) {
		t.Error("no warning at 3,000 probes/s, a connection each")
	}
	if warns(doc(3000, true)) {
		t.Error("a warning at 3,000 probes/s with keep_alive")
	}
	if warns(doc(1000, false)) {
		t.Error("a warning at 1,000 probes/s")
	}
}

// detour check warns of every environment variable a node with the
// default allow-list would refuse to read.
func TestLintEnvNames(t *testing.T) {
	doc := base + `providers:
  - {name: cf, type: cloudflare, zone: example.test, zone_id: z, api_token_env: CLOUDFLARE_API_TOKEN}
  - {name: cf2, type: cloudflare, zone: example.test, zone_id: z, api_token_env: DETOUR_API_TOKENS}
  - {name: cf3, type: cloudflare, zone: example.test, zone_id: z, api_token_env: DETOUR_CF_TOKEN}
  - {name: cf4, type: cloudflare, zone: example.test, zone_id: z, api_token_env: DETOUR_CHECK_AUTH}
notifications:
  channels:
    - {name: pd, type: pagerduty, routing_key_env: DETOUR_CF_TOKEN}
    - {name: pd2, type: pagerduty, routing_key_env: DETOUR_NOTIFY_PD_KEY}
`
	doc = strings.Replace(doc, "timeout: 500ms}", "timeout: 500ms, headers_env: {Authorization: CHECK_AUTH, X-Steal: DETOUR_CF_TOKEN, X-Auth: DETOUR_CHECK_AUTH}}", 1)
	s, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range s.Lint() {
		got[p.Path] = p.Message
	}
	for path, want := range map[string]string{
		"providers[0].api_token_env":          "lacks the prefix DETOUR_",
		"providers[1].api_token_env":          "detour's own secret",
		"checks[0].headers_env.Authorization": "lacks the prefix DETOUR_",
		// A variable serves one use: a provider's token is refused to
		// checks and notifications, a check's to providers.
		"checks[0].headers_env.X-Steal":             "lacks the prefix DETOUR_CHECK_",
		"notifications.channels[0].routing_key_env": "lacks the prefix DETOUR_NOTIFY_",
		"providers[3].api_token_env":                "reserved for check headers",
	} {
		if !strings.Contains(got[path], want) {
			t.Errorf("%s: lint %q, want %q", path, got[path], want)
		}
	}
	for _, path := range []string{"providers[2].api_token_env", "checks[0].headers_env.X-Auth", "notifications.channels[1].routing_key_env"} {
		if msg, ok := got[path]; ok {
			t.Errorf("an allowed name is linted: %s: %s", path, msg)
		}
	}
}
