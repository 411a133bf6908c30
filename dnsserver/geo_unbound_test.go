package dnsserver_test

import (
	"log/slog"

	"github.com/miekg/dns"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/internal/geoip"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/internal/testutil/geodb"
	"github.com/seed3787e6f1/detour/spec"
)

// queries counts the answers srv sent.
func queries(srv *dnsserver.Server) uint64 {
	var n uint64
	for _, c := range srv.Stats().Rcode {
		n += c
	}
	return n
}

// A real resolver with the subnetcache module asks detour with ECS for
// two client subnets, gets two answers and caches them apart: asked
// again, it answers both from its cache.
func TestGeoThroughUnboundSubnetCache(t *testing.T) {
	path, err := geodb.WriteTemp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(geoSpecText, "/var/lib/detour/geo.mmdb", path, 1)
	text = strings.Replace(text, "name: shop.geo.test\n    type: A\n", "name: shop.geo.test\n    type: A\n    ttl: 300\n", 1)
	s, err := spec.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	l, err := controller.NewLocal(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	db := geoip.New(geoip.Options{Path: func() string { return path }})
	db.Check()
	srv := dnsserver.NewServer(dnsserver.Config{Addr: "127.0.0.1:0", Options: dnsserver.Options{Geo: db}}, l, slog.New(slog.DiscardHandler))
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	unbound := testutil.StartUnboundECS(t, map[string]string{"geo.test.": srv.Addr()})
	ask := func(subnet string) string {
		return strings.TrimSpace(testutil.Dig(t, unbound, "+short", "+subnet="+subnet, "shop.geo.test", "A"))
	}
	if got := ask("10.1.2.0/24"); got != "192.0.2.2" {
		t.Fatalf("EU client via unbound = %q, want 192.0.2.2", got)
	}
	if got := ask("10.3.4.0/24"); got != "192.0.2.1" {
		t.Fatalf("US client via unbound = %q, want 192.0.2.1", got)
	}
	before := queries(srv)
	// Other addresses of the same scopes (/16), and the same ones again:
	// all from unbound's cache.
	for _, c := range []struct{ subnet, want string }{
		{"10.1.2.0/24", "192.0.2.2"}, {"10.3.4.0/24", "192.0.2.1"},
		{"10.1.200.0/24", "192.0.2.2"}, {"10.3.99.0/24", "192.0.2.1"},
	} {
		if got := ask(c.subnet); got != c.want {
			t.Errorf("again from %s via unbound = %q, want %s", c.subnet, got, c.want)
		}
	}
	if after := queries(srv); after != before {
		t.Errorf("unbound asked detour %d more times: the answers were not cached per subnet", after-before)
	}
	// A subnet outside both scopes is a miss: unbound asks again.
	if got := ask("10.6.0.0/24"); got != "192.0.2.3" {
		t.Errorf("Asian client via unbound = %q, want 192.0.2.3", got)
	}
	if queries(srv) == before {
		t.Error("a client outside both cached scopes was answered from the cache")
	}
}

// A secondary transferring the zone (hidden primary) gets one answer of
// a geo record for everyone: the one for clients not placed.
func TestGeoTransferCarriesTheDefault(t *testing.T) {
	text := strings.Replace(geoSpecText, "    nameservers: [ns1.geo.test.]\n", "    nameservers: [ns1.geo.test.]\n    allow_transfer: [127.0.0.2]\n", 1)
	_, srv := startPrimary(t, text)
	got, err := transferFrom(t, srv.Addr(), "127.0.0.2", axfrQuery("geo.test."), nil)
	if err != nil {
		t.Fatal(err)
	}
	var shop, near []string
	for _, rr := range got {
		if a, ok := rr.(*dns.A); ok {
			switch a.Hdr.Name {
			case "shop.geo.test.":
				shop = append(shop, a.A.String())
			case "near.geo.test.":
				near = append(near, a.A.String())
			}
		}
	}
	// shop's default rule answers us-east; near's datacenter order
	// (us-east first) too.
	if strings.Join(shop, ",") != "192.0.2.1" || strings.Join(near, ",") != "192.0.2.1" {
		t.Errorf("AXFR holds shop %v and near %v, want 192.0.2.1 each (the default answers)", shop, near)
	}
}
