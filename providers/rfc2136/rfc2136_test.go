package rfc2136_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/providers"
	"github.com/seed3787e6f1/detour/providers/providertest"
	"github.com/seed3787e6f1/detour/providers/rfc2136"
	"github.com/seed3787e6f1/detour/spec"
)

const zoneText = `$ORIGIN example.test.
$TTL 3600
@     IN SOA ns1 hostmaster 1 3600 600 86400 60
@     IN NS  ns1
ns1   IN A   127.0.0.1
mail  IN A   192.0.2.25
www0  IN TXT "foreign: not detour's"
www0  IN A   203.0.113.1
`

func specYAML(server, alg, drift string) string {
	return fmt.Sprintf(`zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: |
      ns1 IN A 127.0.0.1
datacenters: [{name: a}, {name: b}, {name: c}]
checks:
  - {name: web, type: http, interval: 1s, timeout: 500ms}
pools:
  - {name: pa, datacenter: a, check: web, endpoints: [{address: 192.0.2.1}, {address: 192.0.2.2}]}
  - {name: pb, datacenter: b, check: web, endpoints: [{address: 198.51.100.1}]}
  - {name: ca, datacenter: a, check: web, endpoints: [{address: a.origin.test}]}
records:
  - {name: www0.example.test, type: A, ttl: 30, pools: [pa, pb]}
  - {name: app.example.test, type: CNAME, ttl: 120, pools: [ca]}
providers:
  - name: knot
    type: rfc2136
    zone: example.test
    server: %s
    tsig_key: detour-key
    tsig_algorithm: %s
    tsig_secret_env: TSIG_SECRET
    drift_interval: %s
`, server, alg, drift)
}

const (
	secret256 = "Wq1s7k8Hc2v6Zy1Xb0uQm3m3p6kY0b9dW7mJgQ9n1kY="
	secret512 = "8b4lD3Pp2pZkUj6m2q1rZ3n4X5c6V7b8N9m0Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8L9z0X1c2V3b4N5m6Qw=="
	wrong     = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
)

// loopback is what the tests allow the provider to reach: their Knot
// listens there.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func manager(t testing.TB, src providers.Source, l *providertest.Leader, secret string) *providers.Manager {
	t.Helper()
	return managerWith(t, src, l, secret, rfc2136.Builder(loopback))
}

func managerWith(t testing.TB, src providers.Source, l *providertest.Leader, secret string, build providers.Builder) *providers.Manager {
	t.Helper()
	m, err := providers.NewManager(providers.Options{
		Source:   src,
		Builders: map[string]providers.Builder{"rfc2136": build},
		Access:   providers.Access{Env: spec.EnvPolicy{Spec: []string{"TSIG_"}}},
		Getenv: func(k string) string {
			if k == "TSIG_SECRET" {
				return secret
			}
			return ""
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx, m.Run) }()
	t.Cleanup(func() { cancel(); <-done })
	return m
}

// dig returns the answer section lines for name/type at addr.
func dig(t *testing.T, addr, name, typ string) string {
	t.Helper()
	out := testutil.Dig(t, addr, "+noall", "+answer", "+norec", name, typ)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(l); len(f) >= 5 {
			lines = append(lines, strings.Join(f, " "))
		}
	}
	return strings.Join(lines, "\n")
}

func TestKnot(t *testing.T) {
	for _, tc := range []struct{ alg, secret string }{{"hmac-sha256", secret256}, {"hmac-sha512", secret512}} {
		t.Run(tc.alg, func(t *testing.T) {
			addr := testutil.StartKnotUpdate(t, "example.test.", zoneText, testutil.TSIGKey{Name: "detour-key", Algorithm: tc.alg, Secret: tc.secret})
			src := providertest.NewSource(t, specYAML(addr, tc.alg, "1s"))
			src.SetMany(func(set func(string, string, ...string)) {
				set("www0.example.test.", "A", "192.0.2.1", "192.0.2.2")
				set("app.example.test.", "CNAME", "a.origin.test.")
			})
			leader := &providertest.Leader{}
			leader.Set(true)
			m := manager(t, src, leader, tc.secret)

			defer func() {
				if t.Failed() {
					t.Logf("status: %+v", m.Status())
				}
			}()
			testutil.Eventually(t, "first sync", 15*time.Second, func() bool {
				return dig(t, addr, "www0.example.test", "A") == "www0.example.test. 30 IN A 192.0.2.1\nwww0.example.test. 30 IN A 192.0.2.2" &&
					dig(t, addr, "app.example.test", "CNAME") == "app.example.test. 120 IN CNAME a.origin.test."
			})

			src.Set("www0.example.test.", "A", "198.51.100.1") // failover to pb
			testutil.Eventually(t, "failover at Knot", 15*time.Second, func() bool {
				return dig(t, addr, "www0.example.test", "A") == "www0.example.test. 30 IN A 198.51.100.1"
			})

			// Drift: someone replaces detour's RRset by hand.
			up := new(dns.Msg)
			up.SetUpdate("example.test.")
			up.Ns = append(up.Ns, &dns.ANY{Hdr: dns.RR_Header{Name: "www0.example.test.", Rrtype: dns.TypeA, Class: dns.ClassANY}})
			rr, _ := dns.NewRR("www0.example.test. 300 IN A 203.0.113.66")
			up.Ns = append(up.Ns, rr)
			alg, _ := map[string]string{"hmac-sha256": dns.HmacSHA256, "hmac-sha512": dns.HmacSHA512}[tc.alg]
			up.SetTsig("detour-key.", alg, 300, time.Now().Unix())
			c := &dns.Client{Net: "tcp", TsigSecret: map[string]string{"detour-key.": tc.secret}}
			if r, _, err := c.Exchange(up, addr); err != nil || r.Rcode != dns.RcodeSuccess {
				t.Fatalf("hand edit: %v %v", err, r)
			}
			testutil.Eventually(t, "drift repaired", 15*time.Second, func() bool {
				return dig(t, addr, "www0.example.test", "A") == "www0.example.test. 30 IN A 198.51.100.1"
			})

			// Foreign RRsets, at other names and at detour's own names, untouched.
			if got := dig(t, addr, "mail.example.test", "A"); got != "mail.example.test. 3600 IN A 192.0.2.25" {
				t.Errorf("mail A = %q", got)
			}
			if got := dig(t, addr, "www0.example.test", "TXT"); got != `www0.example.test. 3600 IN TXT "foreign: not detour's"` {
				t.Errorf("www0 TXT = %q", got)
			}
			if s := m.Status()[0]; !s.InSync || s.LastError != "" || s.Requests == 0 {
				t.Errorf("status = %+v", s)
			}
		})
	}
}

func TestKnotWrongKey(t *testing.T) {
	addr := testutil.StartKnotUpdate(t, "example.test.", zoneText, testutil.TSIGKey{Name: "detour-key", Algorithm: "hmac-sha256", Secret: secret256})
	src := providertest.NewSource(t, specYAML(addr, "hmac-sha256", "1m"))
	src.Set("www0.example.test.", "A", "198.51.100.1")
	leader := &providertest.Leader{}
	leader.Set(true)
	m := manager(t, src, leader, wrong)
	testutil.Eventually(t, "error in status", 15*time.Second, func() bool { return m.Status()[0].LastError != "" })
	s := m.Status()[0]
	if !strings.Contains(s.LastError, "authentication refused") || s.InSync {
		t.Errorf("status = %+v, want a clear authentication error", s)
	}
	if strings.Contains(s.LastError, wrong) {
		t.Error("the secret shows in status")
	}
	if got := dig(t, addr, "www0.example.test", "A"); got != "www0.example.test. 3600 IN A 203.0.113.1" {
		t.Errorf("www0 A = %q, want the zone unchanged", got)
	}
}

func TestMissingSecret(t *testing.T) {
	src := providertest.NewSource(t, specYAML("127.0.0.1:1", "hmac-sha256", "1m"))
	s, _ := src.Spec()
	if _, err := rfc2136.Build(s.Providers[0], func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "TSIG_SECRET") {
		t.Errorf("err = %v, want one naming the variable", err)
	}
}

// tcpCounter listens on loopback TCP and counts the connections that
// arrive, closing each.
func tcpCounter(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().String(), &n
}

// TestServerGuarded replays the audit's attack: a spec's RFC 2136
// provider names a server on loopback (it could as well be the cloud
// metadata service). A node that does not allow loopback connects to
// nothing and shows why in the provider's status; one that allows it
// connects.
func TestServerGuarded(t *testing.T) {
	addr, got := tcpCounter(t)
	src := providertest.NewSource(t, specYAML(addr, "hmac-sha256", "1m"))
	src.Set("www0.example.test.", "A", "198.51.100.1")
	leader := &providertest.Leader{}
	leader.Set(true)

	m := managerWith(t, src, leader, secret256, rfc2136.Build)
	testutil.Eventually(t, "error in status", 15*time.Second, func() bool { return m.Status()[0].LastError != "" })
	if s := m.Status()[0]; !strings.Contains(s.LastError, "127.0.0.1 is not allowed by this node's dns_peer_allow_networks") || s.InSync {
		t.Errorf("status = %+v, want the refusal naming dns_peer_allow_networks", s)
	}
	if n := got.Load(); n != 0 {
		t.Fatalf("%d connections reached a loopback server the node does not allow", n)
	}

	managerWith(t, src, leader, secret256, rfc2136.Builder(loopback))
	testutil.Eventually(t, "a connection to the allowed server", 15*time.Second, func() bool { return got.Load() > 0 })
}
