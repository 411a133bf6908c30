package spec

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// Policies that answer by where the client is (see docs/geo.md).
const (
	// PolicyNearest answers from the healthy pool whose datacenter is
	// closest (great circle) to the client.
	PolicyNearest = "nearest"
	// PolicyGeo answers from the first geo rule matching the client.
	PolicyGeo = "geo"

	// GeoDefault is the match of a rule every client matches, including
	// those the database does not know.
	GeoDefault = "default"
	// GeoNext makes a rule whose pools are all down fall through to the
	// next rule matching the client (the default).
	GeoNext = "next"
)

// continents are the continent codes MaxMind databases use.
var continents = []string{"AF", "AN", "AS", "EU", "NA", "OC", "SA"}

// GeoIP names the MaxMind DB (City or Country) each node reads to place
// clients. The file is local to each node and never travels in the spec.
type GeoIP struct {
	// Database is an absolute path on every node.
	Database string `yaml:"database" json:"database"`
}

// Location is where a datacenter is, in decimal degrees.
type Location struct {
	Lat float64 `yaml:"lat" json:"lat"`
	Lon float64 `yaml:"lon" json:"lon"`
}

// GeoRule is one rule of a geo record: clients matching it are answered
// from its pools, in failover order.
type GeoRule struct {
	// Match lists continent:CC, country:CC or default; any one matches.
	Match []string `yaml:"match" json:"match"`
	// Pools are tried in order, as for the failover policy.
	Pools []string `yaml:"pools" json:"pools"`
	// OnAllDown says what a matching client gets when no pool of the
	// rule is healthy: "next" (the default) falls through to the next
	// matching rule; "fallback" answers the record's on_all_down (its
	// fallback addresses, no data, or this rule's pools as if up) and
	// never leaves the rule.
	OnAllDown string `yaml:"on_all_down,omitempty" json:"on_all_down,omitempty"`
}

// GeoMatch is one parsed match of a rule.
type GeoMatch struct {
	// Kind is "continent", "country" or "default".
	Kind string
	// Code is the upper-case continent or ISO 3166 country code.
	Code string
}

// ParseGeoMatch parses "continent:EU", "country:US" or "default".
func ParseGeoMatch(s string) (GeoMatch, error) {
	if s == GeoDefault {
		return GeoMatch{Kind: GeoDefault}, nil
	}
	kind, code, ok := strings.Cut(s, ":")
	code = strings.ToUpper(strings.TrimSpace(code))
	switch {
	case !ok:
		return GeoMatch{}, fmt.Errorf("%s: want continent:CODE, country:CODE or default", excerpt(s))
	case kind == "continent" && slices.Contains(continents, code):
		return GeoMatch{Kind: kind, Code: code}, nil
	case kind == "continent":
		return GeoMatch{}, fmt.Errorf("%s: unknown continent (continents: %s)", excerpt(s), strings.Join(continents, ", "))
	case kind == "country" && len(code) == 2 && code[0] >= 'A' && code[0] <= 'Z' && code[1] >= 'A' && code[1] <= 'Z':
		return GeoMatch{Kind: kind, Code: code}, nil
	case kind == "country":
		return GeoMatch{}, fmt.Errorf("%s: a country is a two-letter ISO 3166 code such as US", excerpt(s))
	}
	return GeoMatch{}, fmt.Errorf("%s: want continent:CODE, country:CODE or default", excerpt(s))
}

// String writes the match as the spec does.
func (m GeoMatch) String() string {
	if m.Kind == GeoDefault {
		return GeoDefault
	}
	return m.Kind + ":" + m.Code
}

// IsGeo reports whether the record's answer depends on where the client is.
func (r *Record) IsGeo() bool { return r.Policy == PolicyGeo || r.Policy == PolicyNearest }

// validateGeo checks geoip, datacenter locations and the geo rules of
// every record, and fills a geo record's pools with those its rules name
// (in order of first mention) so that pins, drills and lints see them.
// It runs before validateRecords.
func (s *Spec) validateGeo(e *Error, pools map[string]*Pool) {
	s.validateGeoIP(e)
	for i := range s.Datacenters {
		if l := s.Datacenters[i].Location; l != nil {
			path := fmt.Sprintf("datacenters[%d].location", i)
			if math.IsNaN(l.Lat) || l.Lat < -90 || l.Lat > 90 {
				e.add(path+".lat", "%v is outside -90..90", l.Lat)
			}
			if math.IsNaN(l.Lon) || l.Lon < -180 || l.Lon > 180 {
				e.add(path+".lon", "%v is outside -180..180", l.Lon)
			}
		}
	}
	for i := range s.Records {
		r := &s.Records[i]
		path := fmt.Sprintf("records[%d]", i)
		if len(r.Geo) > 0 && r.Policy != PolicyGeo {
			e.add(path+".geo", "is for policy geo; the policy is %s", quoteOrMissing(r.Policy))
		}
		if !r.IsGeo() {
			continue
		}
		if s.GeoIP == nil || s.GeoIP.Database == "" {
			e.add(path+".policy", "%s needs geoip.database: the MaxMind DB each node reads to place clients", r.Policy)
		}
		if r.Policy == PolicyNearest {
			s.validateNearest(e, r, path, pools)
			continue
		}
		s.validateGeoRules(e, r, path, pools)
	}
}

func (s *Spec) validateGeoIP(e *Error) {
	if s.GeoIP == nil {
		return
	}
	switch db := s.GeoIP.Database; {
	case db == "":
		e.add("geoip.database", "is required: the path of a MaxMind DB file (City or Country) on every node")
	case !filepath.IsAbs(db):
		e.add("geoip.database", "%q is not an absolute path: each node reads the file from its own disk", db)
	}
}

// validateNearest checks that every pool of a nearest record sits in a
// datacenter with a location.
func (s *Spec) validateNearest(e *Error, r *Record, path string, pools map[string]*Pool) {
	for j, ref := range r.Pools {
		p := pools[ref.Pool]
		if p == nil {
			continue // validateRecords says so
		}
		if dc := s.datacenter(p.Datacenter); dc != nil && dc.Location == nil {
			e.add(fmt.Sprintf("%s.pools[%d]", path, j), "pool %q: datacenter %s has no location, which nearest needs (location: {lat: ..., lon: ...})", p.Name, p.Datacenter)
		}
	}
}

// validateGeoRules checks a geo record's rules and fills its pools.
func (s *Spec) validateGeoRules(e *Error, r *Record, path string, pools map[string]*Pool) {
	if len(r.Geo) == 0 || !slices.Contains(r.Geo[len(r.Geo)-1].Match, GeoDefault) {
		e.add(path+".geo", "policy geo needs a last rule matching default (geo: [..., {match: [default], pools: [...]}]): clients the database does not place, providers and secondaries get its answer")
	}
	given := len(r.Pools) > 0
	var union []string
	for k := range r.Geo {
		g := &r.Geo[k]
		gpath := fmt.Sprintf("%s.geo[%d]", path, k)
		validateMatches(e, g, gpath, k < len(r.Geo)-1)
		if g.OnAllDown == "" {
			g.OnAllDown = GeoNext
		}
		if g.OnAllDown != GeoNext && g.OnAllDown != AllDownFallback {
			e.add(gpath+".on_all_down", "%q (choices: next, fallback)", g.OnAllDown)
		}
		if len(g.Pools) == 0 {
			e.add(gpath+".pools", "at least one pool is required")
		}
		for j, name := range g.Pools {
			switch {
			case pools[name] == nil:
				e.add(fmt.Sprintf("%s.pools[%d]", gpath, j), "%q is not defined (pools: %s)", name, keys(pools))
			case slices.Index(g.Pools, name) != j:
				e.add(fmt.Sprintf("%s.pools[%d]", gpath, j), "pool %q is listed twice", name)
			case given && !slices.ContainsFunc(r.Pools, func(p PoolRef) bool { return p.Pool == name }):
				e.add(fmt.Sprintf("%s.pools[%d]", gpath, j), "pool %q is not among the record's pools", name)
			case !slices.Contains(union, name):
				union = append(union, name)
			}
		}
	}
	if !given {
		for _, name := range union {
			r.Pools = append(r.Pools, PoolRef{Pool: name})
		}
	}
}

// validateMatches parses a rule's matches; a default rule must be the
// last one (rules after it are never reached).
func validateMatches(e *Error, g *GeoRule, gpath string, notLast bool) {
	if len(g.Match) == 0 {
		e.add(gpath+".match", "at least one match is required (continent:CODE, country:CODE or default)")
	}
	for j, m := range g.Match {
		gm, err := ParseGeoMatch(m)
		if err != nil {
			e.add(fmt.Sprintf("%s.match[%d]", gpath, j), "%v", err)
			continue
		}
		g.Match[j] = gm.String()
		if gm.Kind == GeoDefault && notLast {
			e.add(fmt.Sprintf("%s.match[%d]", gpath, j), "default matches every client: the rules after it are never reached; make it the last rule")
		}
	}
}

// datacenter returns the datacenter called name, or nil.
func (s *Spec) datacenter(name string) *Datacenter {
	for i := range s.Datacenters {
		if s.Datacenters[i].Name == name {
			return &s.Datacenters[i]
		}
	}
	return nil
}

// lintGeo warns that providers and secondaries cannot tell clients apart:
// they carry a geo record's default answer only.
func (s *Spec) lintGeo() []Problem {
	var out []Problem
	for i, r := range s.Records {
		if !r.IsGeo() {
			continue
		}
		for _, p := range s.Providers {
			if dns.IsSubDomain(p.Zone, r.Name) && s.zoneFor(r.Name) == s.zoneFor(p.Zone) {
				out = append(out, Problem{Path: fmt.Sprintf("records[%d].policy", i), Message: fmt.Sprintf(
					"%s: provider %s (%s) cannot answer per client; it carries the answer of clients the database does not know (the default rule / the datacenter order)", r.Policy, p.Name, p.Type)})
			}
		}
		if z := s.zoneFor(r.Name); z != nil && s.zoneTransfers(r.Name) {
			out = append(out, Problem{Path: fmt.Sprintf("records[%d].policy", i), Message: fmt.Sprintf(
				"%s: secondaries that transfer the zone (allow_transfer) serve one answer to everyone: the default", r.Policy)})
		}
	}
	return out
}

// zoneTransfers reports whether the zone holding name lets anyone
// transfer it.
func (s *Spec) zoneTransfers(name string) bool {
	cz := s.zoneFor(name)
	for _, z := range s.Zones {
		if s.compiled[z.Name] == cz {
			return len(z.AllowTransfer) > 0
		}
	}
	return false
}
