package spec

import (
	"errors"
	"strings"
	"testing"
)

// geoBase is a spec with three located datacenters, a nearest and a geo
// record; cases edit it by string replacement.
const geoBase = `
zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: |
      ns1 IN A 127.0.0.1
geoip: {database: /var/lib/detour/geo.mmdb}
datacenters:
  - {name: us, location: {lat: 39.04, lon: -77.49}}
  - {name: eu, location: {lat: 53.35, lon: -6.26}}
  - {name: ap, location: {lat: 1.35, lon: 103.82}}
checks:
  - {name: web, type: http, interval: 1s, timeout: 500ms}
pools:
  - {name: pus, datacenter: us, check: web, endpoints: [{address: 192.0.2.1}]}
  - {name: peu, datacenter: eu, check: web, endpoints: [{address: 192.0.2.2}]}
  - {name: pap, datacenter: ap, check: web, endpoints: [{address: 192.0.2.3}]}
records:
  - {name: www.example.test, type: A, policy: nearest, pools: [pus, peu, pap], fallback: [192.0.2.99]}
  - name: shop.example.test
    type: A
    policy: geo
    fallback: [192.0.2.99]
    geo:
      - {match: [continent:EU], pools: [peu], on_all_down: fallback}
      - {match: [country:us, country:CA], pools: [pus, peu]}
      - {match: [default], pools: [pus, pap]}
`

func TestGeoSpecValid(t *testing.T) {
	s, err := Parse([]byte(geoBase))
	if err != nil {
		t.Fatal(err)
	}
	r := s.Records[1]
	var pools []string
	for _, p := range r.Pools {
		pools = append(pools, p.Pool)
	}
	if got := strings.Join(pools, ","); got != "peu,pus,pap" {
		t.Errorf("geo record's pools = %s, want the rules' pools in order of mention", got)
	}
	if r.Geo[1].Match[0] != "country:US" || r.Geo[1].OnAllDown != GeoNext || r.Geo[0].OnAllDown != AllDownFallback {
		t.Errorf("rules not normalised: %+v", r.Geo)
	}
	if !r.IsGeo() || !s.Records[0].IsGeo() {
		t.Error("IsGeo false for geo and nearest")
	}
	// What Marshal writes loads again (pools filled by validation
	// included).
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(b); err != nil {
		t.Fatalf("marshalled geo spec does not load: %v\n%s", err, b)
	}
}

func TestGeoSpecErrors(t *testing.T) {
	cases := []struct {
		name, old, new, path, msg string
	}{
		{"no database", "geoip: {database: /var/lib/detour/geo.mmdb}", "", "records[0].policy", "needs geoip.database"},
		{"empty database", "geoip: {database: /var/lib/detour/geo.mmdb}", "geoip: {database: \"\"}", "geoip.database", "is required"},
		{"relative database", "/var/lib/detour/geo.mmdb", "geo.mmdb", "geoip.database", "not an absolute path"},
		{"missing location", "{name: ap, location: {lat: 1.35, lon: 103.82}}", "{name: ap}", "records[0].pools[2]", "has no location"},
		{"bad latitude", "lat: 1.35", "lat: 91", "datacenters[2].location.lat", "outside -90..90"},
		{"bad longitude", "lon: 103.82", "lon: 181", "datacenters[2].location.lon", "outside -180..180"},
		{"unknown pool", "pools: [pus, pap]}", "pools: [pus, nope]}", "records[1].geo[2].pools[1]", `"nope" is not defined`},
		{"pool twice", "pools: [pus, pap]}", "pools: [pus, pus]}", "records[1].geo[2].pools[1]", "listed twice"},
		{"no pools", "pools: [pus, pap]}", "pools: []}", "records[1].geo[2].pools", "at least one pool"},
		{"bad continent", "continent:EU", "continent:XX", "records[1].geo[0].match[0]", "unknown continent"},
		{"bad country", "country:CA", "country:CAN", "records[1].geo[1].match[1]", "two-letter"},
		{"bad kind", "country:CA", "city:paris", "records[1].geo[1].match[1]", "want continent:CODE"},
		{"no colon", "country:CA", "CA", "records[1].geo[1].match[1]", "want continent:CODE"},
		{"no match", "match: [continent:EU]", "match: []", "records[1].geo[0].match", "at least one match"},
		{"default not last", "match: [continent:EU]", "match: [default]", "records[1].geo[0].match[0]", "never reached"},
		{"bad on_all_down", "on_all_down: fallback}", "on_all_down: all}", "records[1].geo[0].on_all_down", "next, fallback"},
		{"no rules", "    geo:\n      - {match: [continent:EU], pools: [peu], on_all_down: fallback}\n      - {match: [country:us, country:CA], pools: [pus, peu]}\n      - {match: [default], pools: [pus, pap]}\n", "", "records[1].geo", "needs a last rule matching default"},
		{"no default rule", "match: [default]", "match: [continent:AS]", "records[1].geo", "needs a last rule matching default"},
		{"geo without policy geo", "policy: nearest, pools: [pus, peu, pap]", "policy: failover, pools: [pus], geo: [{match: [default], pools: [pus]}]", "records[0].geo", "is for policy geo"},
		{"pool outside record's", "    policy: geo\n", "    policy: geo\n    pools: [peu, pus]\n", "records[1].geo[2].pools[1]", "not among the record's pools"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := strings.Replace(geoBase, c.old, c.new, 1)
			if doc == geoBase {
				t.Fatalf("case does not change the spec (%q not found)", c.old)
			}
			_, err := Parse([]byte(doc))
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a spec error", err)
			}
			for _, p := range se.Problems {
				if p.Path == c.path && strings.Contains(p.Message, c.msg) {
					return
				}
			}
			t.Errorf("no problem at %s saying %q in:\n%v", c.path, c.msg, err)
		})
	}
}

func TestGeoLint(t *testing.T) {
	doc := geoBase + `providers:
  - {name: cf, type: cloudflare, zone: example.test, zone_id: abc, api_token_env: CF_TOKEN}
`
	doc = strings.Replace(doc, "      ns1 IN A 127.0.0.1\n", "      ns1 IN A 127.0.0.1\n    allow_transfer: [192.0.2.53]\n", 1)
	s, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var provider, secondary int
	for _, p := range s.Lint() {
		if strings.Contains(p.Message, "provider cf (cloudflare) cannot answer per client") {
			provider++
		}
		if strings.Contains(p.Message, "secondaries that transfer the zone") {
			secondary++
		}
	}
	if provider != 2 || secondary != 2 {
		t.Errorf("lint: %d provider and %d secondary warnings, want 2 and 2: %v", provider, secondary, s.Lint())
	}
}

func TestGeoMatchString(t *testing.T) {
	for _, in := range []string{"default", "continent:EU", "country:US"} {
		m, err := ParseGeoMatch(in)
		if err != nil || m.String() != in {
			t.Errorf("ParseGeoMatch(%q) = %v, %v", in, m, err)
		}
	}
}
