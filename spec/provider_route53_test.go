package spec_test

import (
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/spec"
)

const route53Base = `zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
datacenters: [{name: a}]
providers:
`

func TestRoute53ProviderValid(t *testing.T) {
	s, err := spec.Parse([]byte(route53Base + `  - {name: r53, type: route53, zone: example.test, zone_id: /hostedzone/Z0123456789ABC, region: eu-west-1, owner_id: prod-cluster}
`))
	if err != nil {
		t.Fatal(err)
	}
	p := s.Providers[0]
	if p.ZoneID != "Z0123456789ABC" || p.Region != "eu-west-1" || p.OwnerID != "prod-cluster" {
		t.Errorf("provider = %+v, want the hosted zone ID bare", p)
	}
}

func TestRoute53ProviderRefused(t *testing.T) {
	_, err := spec.Parse([]byte(route53Base + `  - {name: r53, type: route53, zone: example.test, zone_id: zabc, region: Mars, owner_id: "a,b", api_token_env: DETOUR_X, base_url: "ftp://x"}
`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"providers[0].zone_id: \"zabc\" is not a Route 53 hosted zone ID",
		"providers[0].region: \"Mars\" is not an AWS region name",
		"providers[0].owner_id: \"a,b\"",
		"providers[0].api_token_env: does not apply to route53",
		"providers[0].base_url: \"ftp://x\" is not an http(s) URL",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
