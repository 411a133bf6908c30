package node

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The rate limit is on for an agent, off under --dev unless asked for, and
// off at -1.
func TestDNSLimitsDefaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limits DNSLimits
		dev    bool
		want   int
	}{
		{"agent", DNSLimits{}, false, DefaultDNSRateLimit},
		{"dev", DNSLimits{}, true, 0},
		{"dev, asked for", DNSLimits{RateLimit: 5}, true, 5},
		{"agent, off", DNSLimits{RateLimit: -1}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.limits.server("127.0.0.1:0", tc.dev).RRL.Rate; got != tc.want {
				t.Errorf("rate %d, want %d", got, tc.want)
			}
		})
	}
	bad := Config{Dev: true, DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", Spec: "x",
		DNSLimits: DNSLimits{RateLimit: -2, Slip: 500, Exempt: []string{"10.0.0.0/8", "nonsense"}}}
	err := bad.Validate()
	for _, w := range []string{"--dns-rate-limit -2", "--dns-rate-limit-slip 500", `"nonsense": want networks`} {
		if err == nil || !regexp.MustCompile(regexp.QuoteMeta(w)).MatchString(err.Error()) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
}

// An agent started with no DNS settings limits a flood from one address
// and counts it in /metrics.
func TestAgentLimitsDNSFlood(t *testing.T) {
	dir := t.TempDir()
	specFile := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(specFile, []byte(`
zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: |
      ns1 IN A 127.0.0.1
datacenters: [{name: a}, {name: b}, {name: c}]
pools: [{name: pa, datacenter: a, endpoints: [{address: 192.0.2.1}]}]
records:
  - {name: www.example.test, type: A, pools: [pa]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n, err := Start(Config{NodeID: "a-1", Datacenter: "a", RaftAddr: ln.Addr().String(),
		Peers: []Peer{{ID: "a-1", Address: ln.Addr().String()}}, Deps: Deps{Listener: ln},
		DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", DataDir: filepath.Join(dir, "data"), Spec: specFile, Timing: DevTiming,
		Insecure: true}, // a plaintext node port on loopback
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	waitReady(t, n.APIAddr())
	c, err := net.Dial("udp", n.DNSAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := new(dns.Msg)
	m.SetQuestion("www.example.test.", dns.TypeA)
	q, _ := m.Pack()
	answered := 0
	start := time.Now()
	buf := make([]byte, 1500)
	for range 300 {
		_, _ = c.Write(q)
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if k, err := c.Read(buf); err == nil && k > 12 && buf[2]&0x02 == 0 && buf[7] == 1 {
			answered++
		}
	}
	if bound := DefaultDNSRateLimit * int(time.Since(start).Seconds()+3); answered > bound {
		t.Errorf("%d of 300 queries answered in %s, want at most %d", answered, time.Since(start), bound)
	}
	resp, err := http.Get("http://" + n.APIAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	got := regexp.MustCompile(`detour_dns_rate_limited_total\{action="dropped"\} (\d+)`).FindSubmatch(body)
	if got == nil {
		t.Fatalf("/metrics lacks detour_dns_rate_limited_total:\n%s", body)
	}
	if v, _ := strconv.Atoi(string(got[1])); v == 0 {
		t.Errorf("detour_dns_rate_limited_total{action=\"dropped\"} = 0 after a flood")
	}
}
