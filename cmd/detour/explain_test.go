package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/internal/testutil/geodb"
	"github.com/seed3787e6f1/detour/spec"
)

// geoNode starts a dev node serving a geo and a nearest record, with the
// test geoip database, points the client commands at it, and returns
// its DNS address once the database is loaded and the sites are up.
func geoNode(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db, err := geodb.WriteTemp(dir)
	if err != nil {
		t.Fatal(err)
	}
	var sites []string
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		sites = append(sites, ln.Addr().String())
	}
	text := `zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test., negative_ttl: 5}
    nameservers: [ns1.example.test.]
    static: |
      ns1 IN A 127.0.0.1
geoip: {database: ` + db + `}
datacenters:
  - {name: us-east, location: {lat: 39.04, lon: -77.49}}
  - {name: us-west, location: {lat: 37.39, lon: -122.08}}
  - {name: eu-west, location: {lat: 53.35, lon: -6.26}}
checks:
  - {name: web, type: tcp, interval: 200ms, timeout: 100ms, rise: 1, fall: 1}
pools:
  - {name: web-us-east, datacenter: us-east, check: web, endpoints: [{address: 192.0.2.10, check_address: "` + sites[0] + `"}]}
  - {name: web-us-west, datacenter: us-west, check: web, endpoints: [{address: 198.51.100.10, check_address: "` + sites[1] + `"}]}
  - {name: web-eu-west, datacenter: eu-west, check: web, endpoints: [{address: 203.0.113.10, check_address: "` + sites[2] + `"}]}
records:
  - {name: near.example.test, type: A, ttl: 30, policy: nearest, pools: [web-us-east, web-us-west, web-eu-west], fallback: [192.0.2.99]}
  - name: shop.example.test
    type: A
    ttl: 30
    policy: geo
    fallback: [192.0.2.99]
    geo:
      - {match: [continent:EU], pools: [web-eu-west], on_all_down: fallback}
      - {match: [country:US], pools: [web-us-east, web-us-west]}
      - {match: [default], pools: [web-us-west, web-eu-west]}
`
	specFile := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(specFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(node.Config{Dev: true, DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", Spec: specFile,
		GeoIPPoll: spec.Duration(50 * time.Millisecond)}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	t.Setenv("DETOUR_API", "http://"+n.APIAddr())
	t.Setenv("DETOUR_TOKEN", "")
	testutil.Eventually(t, "the geoip database and every site up", 15*time.Second, func() bool {
		var stdout, stderr bytes.Buffer
		code := run([]string{"status"}, &stdout, &stderr)
		return code == 0 && strings.Contains(stdout.String(), "geoip sha256") && !strings.Contains(stdout.String(), "unknown")
	})
	return n.DNSAddr()
}

// ecsAnswer asks addr for name A from subnet with ECS.
func ecsAnswer(t *testing.T, addr, name, subnet string) string {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypeA)
	q.SetEdns0(1232, false)
	p := netip.MustParsePrefix(subnet)
	q.IsEdns0().Option = append(q.IsEdns0().Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: uint8(p.Bits()), Address: p.Addr().AsSlice()})
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(q, addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			return a.A.String()
		}
	}
	return "none"
}

// explain says what the DNS server answers: for each client, the
// answer explain prints is the one the server gives.
func TestExplainMatchesDNS(t *testing.T) {
	dnsAddr := geoNode(t)
	cases := []struct{ name, record, subnet string }{
		{"geo-eu", "shop.example.test", "10.1.2.0/24"},
		{"geo-us", "shop.example.test", "10.4.5.0/24"},
		{"geo-unknown", "shop.example.test", "10.200.0.0/24"},
		{"nearest-asia", "near.example.test", "10.6.7.0/24"},
		{"nearest-eu", "near.example.test", "10.1.2.0/24"},
		{"nearest-no-location", "near.example.test", "10.10.0.0/24"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := runCLI("explain", c.record, "--subnet", c.subnet)
			if code != 0 {
				t.Fatalf("explain: %s", out)
			}
			want := ecsAnswer(t, dnsAddr, c.record+".", c.subnet)
			if !strings.Contains(out, "answer: "+want+" ") {
				t.Errorf("DNS answers %s; explain says:\n%s", want, out)
			}
			golden(t, "cli/explain-"+c.name, normalise(regexpHash.ReplaceAllString(out, "HASH")))
		})
	}
	code, out := runCLI("explain", "shop.example.test", "--client", "10.3.0.1", "--subnet", "10.3.0.0/24")
	if code != 2 {
		t.Errorf("explain with --client and --subnet: exit %d\n%s", code, out)
	}
	code, out = runCLI("status")
	if code != 0 || !strings.Contains(out, "continent:EU → 203.0.113.10  pool web-eu-west") || !strings.Contains(out, "nearest us-west → 198.51.100.10") {
		t.Errorf("status does not show the geo answers per rule and pool:\n%s", out)
	}
	golden(t, "cli/geo-status", normalise(regexpHash.ReplaceAllString(out, "HASH")))
}

var regexpHash = regexp.MustCompile(`[0-9a-f]{12}`)
