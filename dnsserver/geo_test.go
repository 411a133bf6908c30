package dnsserver_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/internal/geoip"
	"github.com/seed3787e6f1/detour/internal/testutil/geodb"
	"github.com/seed3787e6f1/detour/policy"
	"github.com/seed3787e6f1/detour/spec"
)

// geoSpecText has three located datacenters, a geo record whose EU rule
// never leaves the EU, a nearest record, and a static alias of the geo
// record.
const geoSpecText = `
zones:
  - name: geo.test
    soa: {mname: ns1.geo.test., rname: hostmaster.geo.test.}
    nameservers: [ns1.geo.test.]
    static: |
      ns1 IN A 127.0.0.1
      alias IN CNAME shop
      plain IN A 192.0.2.200
geoip: {database: /var/lib/detour/geo.mmdb}
datacenters:
  - {name: us-east, location: {lat: 39.04, lon: -77.49}}
  - {name: eu-west, location: {lat: 53.35, lon: -6.26}}
  - {name: ap-south, location: {lat: 1.35, lon: 103.82}}
pools:
  - {name: pus, datacenter: us-east, endpoints: [{address: 192.0.2.1}]}
  - {name: peu, datacenter: eu-west, endpoints: [{address: 192.0.2.2}]}
  - {name: pap, datacenter: ap-south, endpoints: [{address: 192.0.2.3}]}
records:
  - {name: near.geo.test, type: A, policy: nearest, pools: [pus, peu, pap], fallback: [192.0.2.99]}
  - name: shop.geo.test
    type: A
    policy: geo
    fallback: [192.0.2.99]
    geo:
      - {match: [continent:EU], pools: [peu], on_all_down: fallback}
      - {match: [country:US, country:CA], pools: [pus, peu]}
      - {match: [continent:AS], pools: [pap]}
      - {match: [default], pools: [pus, peu]}
`

// downSet is a Health with the listed pools' endpoints down.
type downSet map[string]bool

func (d downSet) Endpoint(pool, _ string) policy.EndpointHealth {
	if d[pool] {
		return policy.EndpointHealth{Known: true, Reason: "test"}
	}
	return policy.EndpointHealth{}
}

// geoHandler answers geoSpecText with the pools in down down, placing
// clients with the test database.
func geoHandler(t testing.TB, down downSet) *dnsserver.Handler {
	t.Helper()
	path, err := geodb.WriteTemp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return geoHandlerDB(t, down, path)
}

// geoHandlerDB is geoHandler with the database at path.
func geoHandlerDB(t testing.TB, down downSet, path string) *dnsserver.Handler {
	t.Helper()
	s, err := spec.Parse([]byte(geoSpecText))
	if err != nil {
		t.Fatal(err)
	}
	zs, err := dnsserver.NewZoneSet(s)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := dnsserver.Build(zs, controller.DynamicAnswers(policy.Evaluate(s, down)), nil, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	db := geoip.New(geoip.Options{Path: func() string { return path }})
	db.Check()
	return dnsserver.NewHandler(fixedSnap{snap}, dnsserver.Options{Geo: db})
}

type fixedSnap struct{ s *dnsserver.Snapshot }

func (f fixedSnap) Answers() *dnsserver.Snapshot { return f.s }

// ecsQuery packs a query for name/A with EDNS and, when subnet is set,
// an ECS option for it.
func ecsQuery(t testing.TB, name, subnet string) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	m.SetEdns0(1232, false)
	if subnet != "" {
		p := netip.MustParsePrefix(subnet)
		e := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: uint8(p.Bits()), Address: p.Addr().AsSlice()}
		if p.Addr().Is6() {
			e.Family = 2
		}
		m.IsEdns0().Option = append(m.IsEdns0().Option, e)
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// geoReply returns the reply's last A record, its ECS option (nil
// without), and the rcode.
func geoReply(t *testing.T, out []byte) (string, *dns.EDNS0_SUBNET, int) {
	t.Helper()
	r := new(dns.Msg)
	if err := r.Unpack(out); err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
	var a string
	for _, rr := range r.Answer {
		if x, ok := rr.(*dns.A); ok {
			a = x.A.String()
		}
	}
	var ecs *dns.EDNS0_SUBNET
	if opt := r.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if e, ok := o.(*dns.EDNS0_SUBNET); ok {
				ecs = e
			}
		}
	}
	return a, ecs, r.Rcode
}

func TestGeoAnswersByClient(t *testing.T) {
	h := geoHandler(t, nil)
	cases := []struct {
		name, qname, subnet, source string
		want                        string
		scope                       int // -1: no ECS in the reply
	}{
		{"EU subnet", "shop.geo.test.", "10.1.2.0/24", "", "192.0.2.2", 16},
		{"US subnet", "shop.geo.test.", "10.3.7.0/24", "", "192.0.2.1", 16},
		{"CA subnet", "shop.geo.test.", "10.5.0.0/24", "", "192.0.2.1", 16},
		{"Asian subnet", "shop.geo.test.", "10.6.0.0/24", "", "192.0.2.3", 16},
		{"South American subnet: default rule", "shop.geo.test.", "10.8.0.0/24", "", "192.0.2.1", 16},
		{"unknown subnet: default rule", "shop.geo.test.", "10.200.0.0/24", "", "192.0.2.1", 9},
		{"source longer than the network: clipped to it", "shop.geo.test.", "10.9.1.5/32", "", "192.0.2.2", 25},
		{"network longer than the source: scope is the source", "shop.geo.test.", "10.9.1.0/24", "", "192.0.2.2", 24},
		{"IPv6 EU subnet", "shop.geo.test.", "2001:db8:1::/56", "", "192.0.2.2", 48},
		{"source prefix 0: not tailored", "shop.geo.test.", "0.0.0.0/0", "10.6.0.1", "192.0.2.1", 0},
		{"no ECS: the source address decides", "shop.geo.test.", "", "10.6.0.1", "192.0.2.3", -1},
		{"no ECS, unknown source", "shop.geo.test.", "", "127.0.0.1", "192.0.2.1", -1},
		{"static record: scope 0", "plain.geo.test.", "10.1.2.0/24", "", "192.0.2.200", 0},
		{"alias of a geo record", "alias.geo.test.", "10.1.2.0/24", "", "192.0.2.2", 16},
		{"nearest: Tokyo to Singapore", "near.geo.test.", "10.6.1.0/24", "", "192.0.2.3", 16},
		{"nearest: Frankfurt to Dublin", "near.geo.test.", "10.1.1.0/24", "", "192.0.2.2", 16},
		{"nearest: Sao Paulo to Ashburn", "near.geo.test.", "10.8.1.0/24", "", "192.0.2.1", 16},
		{"nearest: no coordinates, datacenter order", "near.geo.test.", "10.10.1.0/24", "", "192.0.2.1", 16},
		{"nearest: unknown, datacenter order", "near.geo.test.", "10.200.1.0/24", "", "192.0.2.1", 9},
	}
	sc := dnsserver.NewScratch(1)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var src netip.Addr
			if c.source != "" {
				src = netip.MustParseAddr(c.source)
			}
			a, ecs, rcode := geoReply(t, h.ServeFrom(ecsQuery(t, c.qname, c.subnet), sc, src, false))
			if rcode != dns.RcodeSuccess || a != c.want {
				t.Fatalf("answer %s (rcode %d), want %s", a, rcode, c.want)
			}
			switch {
			case c.scope < 0 && ecs != nil:
				t.Errorf("ECS in the reply to a query without: %v", ecs)
			case c.scope >= 0 && ecs == nil:
				t.Errorf("no ECS in the reply")
			case c.scope >= 0 && int(ecs.SourceScope) != c.scope:
				t.Errorf("scope %d, want %d", ecs.SourceScope, c.scope)
			case c.scope >= 0 && c.subnet != "" && netip.PrefixFrom(netip.AddrFrom16([16]byte(ecs.Address.To16())).Unmap(), int(ecs.SourceNetmask)).String() != netip.MustParsePrefix(c.subnet).String():
				t.Errorf("ECS echoed as %v/%d, want %s", ecs.Address, ecs.SourceNetmask, c.subnet)
			}
		})
	}
}

func TestGeoAnswersFollowHealth(t *testing.T) {
	cases := []struct {
		name, qname, subnet string
		down                downSet
		want                string
	}{
		{"EU down: EU users get the fallback, never the US", "shop.geo.test.", "10.1.2.0/24", downSet{"peu": true}, "192.0.2.99"},
		{"EU down: US users unaffected", "shop.geo.test.", "10.3.0.0/24", downSet{"peu": true}, "192.0.2.1"},
		{"AS down: Asian users fall through to default", "shop.geo.test.", "10.6.0.0/24", downSet{"pap": true}, "192.0.2.1"},
		{"US down: US users fail over inside their rule", "shop.geo.test.", "10.3.0.0/24", downSet{"pus": true}, "192.0.2.2"},
		{"nearest: Singapore down, Tokyo goes to the next nearest (Dublin)", "near.geo.test.", "10.6.0.0/24", downSet{"pap": true}, "192.0.2.2"},
		{"nearest: Dublin down, Frankfurt goes to Ashburn", "near.geo.test.", "10.1.0.0/24", downSet{"peu": true}, "192.0.2.1"},
		{"nearest: all down, fallback", "near.geo.test.", "10.1.0.0/24", downSet{"peu": true, "pus": true, "pap": true}, "192.0.2.99"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := geoHandler(t, c.down)
			a, _, _ := geoReply(t, h.Serve(ecsQuery(t, c.qname, c.subnet), dnsserver.NewScratch(1), false))
			if a != c.want {
				t.Errorf("answer %s, want %s", a, c.want)
			}
		})
	}
}

// rawECS packs a query whose ECS option data is data, as given.
func rawECS(t *testing.T, data ...[]byte) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion("shop.geo.test.", dns.TypeA)
	m.SetEdns0(1232, false)
	for _, d := range data {
		m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_LOCAL{Code: dns.EDNS0SUBNET, Data: d})
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMalformedECSIsFormErr(t *testing.T) {
	h := geoHandler(t, nil)
	cases := []struct {
		name string
		data [][]byte
		ok   bool
	}{
		{"well formed", [][]byte{{0, 1, 24, 0, 10, 1, 2}}, true},
		{"too short", [][]byte{{0, 1, 24}}, false},
		{"unknown family", [][]byte{{0, 3, 24, 0, 10, 1, 2}}, false},
		{"IPv4 source over 32", [][]byte{{0, 1, 33, 0, 10, 1, 2, 3, 4}}, false},
		{"scope set in the query", [][]byte{{0, 1, 24, 8, 10, 1, 2}}, false},
		{"address longer than the source", [][]byte{{0, 1, 16, 0, 10, 1, 2}}, false},
		{"address shorter than the source", [][]byte{{0, 1, 24, 0, 10, 1}}, false},
		{"bits set beyond the source", [][]byte{{0, 1, 23, 0, 10, 1, 3}}, false},
		{"two ECS options", [][]byte{{0, 1, 24, 0, 10, 1, 2}, {0, 1, 24, 0, 10, 1, 2}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := h.Serve(rawECS(t, c.data...), dnsserver.NewScratch(1), false)
			r := new(dns.Msg)
			if err := r.Unpack(out); err != nil {
				t.Fatal(err)
			}
			if got := r.Rcode == dns.RcodeSuccess; got != c.ok {
				t.Errorf("rcode %s, want success %v", dns.RcodeToString[r.Rcode], c.ok)
			}
			if !c.ok && r.IsEdns0() == nil {
				t.Error("FORMERR to an EDNS query without OPT")
			}
		})
	}
}
