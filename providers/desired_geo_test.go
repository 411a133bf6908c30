package providers

import (
	"slices"
	"testing"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/spec"
)

// A provider cannot answer per client: a geo or nearest record gives it
// the answer of clients the database does not place (the default rule,
// the pools in datacenter order), never a rule's.
func TestDesiredGeoRecordsCarryTheDefault(t *testing.T) {
	s, err := spec.Parse([]byte(`
zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: "ns1 IN A 127.0.0.1\n"
geoip: {database: /var/lib/detour/geo.mmdb}
datacenters:
  - {name: eu, location: {lat: 53.35, lon: -6.26}}
  - {name: us, location: {lat: 39.04, lon: -77.49}}
pools:
  - {name: peu, datacenter: eu, endpoints: [{address: 192.0.2.2}]}
  - {name: pus, datacenter: us, endpoints: [{address: 192.0.2.1}]}
records:
  - {name: near.example.test, type: A, policy: nearest, pools: [pus, peu]}
  - name: shop.example.test
    type: A
    policy: geo
    geo:
      - {match: [continent:EU], pools: [peu]}
      - {match: [default], pools: [pus]}
providers:
  - {name: cf, type: cloudflare, zone: example.test, zone_id: abc, api_token_env: CF_TOKEN}
`))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Desired(s, controller.Evaluate(s, controller.AllUp{}), s.Providers[0])
	got := map[string][]string{}
	for _, w := range want {
		got[w.Key.Name] = w.Values
	}
	// near: datacenter order puts eu first; shop: the default rule (pus).
	if !slices.Equal(got["near.example.test."], []string{"192.0.2.2"}) || !slices.Equal(got["shop.example.test."], []string{"192.0.2.1"}) {
		t.Errorf("provider holds %v, want near 192.0.2.2 and shop 192.0.2.1", got)
	}
}
