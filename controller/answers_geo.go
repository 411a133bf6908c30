package controller

import (
	"strings"

	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/policy"
	"github.com/seed3787e6f1/detour/spec"
)

// geoAnswer turns a geo or nearest decision's per-rule or per-pool
// answers into the DNS server's, or returns nil for any other decision.
func geoAnswer(d Decision) *dnsserver.Geo {
	if d.GeoPolicy == "" {
		return nil
	}
	g := &dnsserver.Geo{}
	for _, a := range d.Geo {
		vs := geoVariants(d, a)
		if d.GeoPolicy == spec.PolicyNearest {
			site := dnsserver.GeoSite{Pass: a.Pass, Variants: vs}
			if a.Location != nil {
				site.Lat, site.Lon = a.Location.Lat, a.Location.Lon
			}
			g.Sites = append(g.Sites, site)
			continue
		}
		rule := dnsserver.GeoRule{Pass: a.Pass, Variants: vs}
		for _, m := range a.Match {
			kind, code, _ := strings.Cut(m, ":")
			switch kind {
			case spec.GeoDefault:
				rule.Default = true
			case "continent":
				rule.Continents = append(rule.Continents, code)
			case "country":
				rule.Countries = append(rule.Countries, code)
			}
		}
		g.Rules = append(g.Rules, rule)
	}
	return g
}

// geoVariants are the variants answering a's groups.
func geoVariants(d Decision, a policy.GeoAnswer) []dnsserver.Variant {
	var out []dnsserver.Variant
	for _, g := range a.Groups {
		out = append(out, dnsserver.Variant{Weight: g.Weight, RRs: records(d, g)})
	}
	return out
}
