package api

import (
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/internal/api/wire"
	"github.com/seed3787e6f1/detour/internal/geoip"
	"github.com/seed3787e6f1/detour/policy"
	"github.com/seed3787e6f1/detour/spec"
)

// GeoLocator is the node's geoip database, as explain and status read it.
type GeoLocator interface {
	Locate(addr netip.Addr) dnsserver.Place
	Status() geoip.Status
}

// earthKM is the mean radius of the Earth, for distances in explain.
const earthKM = 6371

// geoIPStatus answers GET /v1/geoip: this node's database.
func (s *Server) geoIPStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.wireGeoIP())
}

func (s *Server) wireGeoIP() wire.GeoIPStatus {
	if s.geo == nil {
		return wire.GeoIPStatus{}
	}
	st := s.geo.Status()
	return wire.GeoIPStatus{Path: st.Path, SHA256: st.SHA256, Size: st.Size, Type: st.Type, Error: st.Error}
}

// explain answers GET /v1/explain?name=N[&type=T](&client=IP|&subnet=CIDR):
// which rule or pool answers that client on this node, and why.
func (s *Server) explain(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name, typ := dns.CanonicalName(q.Get("name")), strings.ToUpper(q.Get("type"))
	if typ == "" {
		typ = "A"
	}
	addr, network, err := explainClient(q.Get("client"), q.Get("subnet"))
	if err != nil || q.Get("name") == "" {
		writeError(w, http.StatusBadRequest, "want name=RECORD and client=IP or subnet=CIDR: %v", err)
		return
	}
	ds, _ := s.store.FSM().DecisionsAt()
	i := slices.IndexFunc(ds, func(d policy.Decision) bool { return d.Name == name && d.Type == typ })
	if i < 0 {
		writeError(w, http.StatusNotFound, "no health-driven record %s %s", name, typ)
		return
	}
	var pl dnsserver.Place
	if s.geo != nil {
		pl = s.geo.Locate(addr)
	}
	ex := explainDecision(ds[i], pl)
	ex.Client, ex.Place, ex.GeoIP = network, wirePlace(addr, pl), s.wireGeoIP()
	writeJSON(w, http.StatusOK, ex)
}

// explainClient parses the client as the DNS server would see it: an
// address, or a subnet (as in ECS: its network address).
func explainClient(client, subnet string) (netip.Addr, string, error) {
	switch {
	case client != "" && subnet != "":
		return netip.Addr{}, "", fmt.Errorf("client and subnet both given")
	case client != "":
		a, err := netip.ParseAddr(client)
		return a.Unmap(), a.Unmap().String(), err
	case subnet != "":
		p, err := netip.ParsePrefix(subnet)
		return p.Masked().Addr(), p.Masked().String(), err
	}
	return netip.Addr{}, "", fmt.Errorf("no client or subnet given")
}

func wirePlace(addr netip.Addr, pl dnsserver.Place) wire.ExplainPlace {
	out := wire.ExplainPlace{Known: pl.Known, Continent: strings.Trim(string(pl.Continent[:]), "\x00"), Country: strings.Trim(string(pl.Country[:]), "\x00")}
	if pl.HasLocation {
		out.Lat = math.Round(math.Asin(pl.Vec[2])*180/math.Pi*100) / 100
		out.Lon = math.Round(math.Atan2(pl.Vec[1], pl.Vec[0])*180/math.Pi*100) / 100
	}
	if pfx, err := addr.Prefix(pl.Bits); err == nil && pl.Bits > 0 {
		out.Network = pfx.String()
	}
	return out
}

// explainDecision walks d's rules or pools for a client at pl, as the
// DNS server picks its answer, saying why at each step.
func explainDecision(d policy.Decision, pl dnsserver.Place) wire.Explain {
	ex := wire.Explain{Name: d.Name, Type: d.Type}
	def := func(why string) wire.Explain {
		ex.Steps = append(ex.Steps, why)
		ex.Pool, ex.Answers, ex.Default = d.Pool, d.Answers, true
		ex.Steps = append(ex.Steps, "answer: "+d.Phrase()+": "+d.Reason)
		return ex
	}
	switch d.GeoPolicy {
	case spec.PolicyGeo:
		return explainRules(ex, d, pl, def)
	case spec.PolicyNearest:
		return explainNearest(ex, d, pl, def)
	}
	return def("the record does not depend on the client (policy " + firstNonEmpty(d.Pool, "none") + " answers everyone; a pin answers everyone too)")
}

func explainRules(ex wire.Explain, d policy.Decision, pl dnsserver.Place, def func(string) wire.Explain) wire.Explain {
	for i, g := range d.Geo {
		rule := strings.Join(g.Match, ", ")
		if !ruleMatches(g.Match, pl) {
			ex.Steps = append(ex.Steps, fmt.Sprintf("rule %d [%s]: does not match", i+1, rule))
			continue
		}
		if g.Pass {
			ex.Steps = append(ex.Steps, fmt.Sprintf("rule %d [%s]: matches, but %s", i+1, rule, g.Reason))
			continue
		}
		ex.Steps = append(ex.Steps, fmt.Sprintf("rule %d [%s]: matches: %s", i+1, rule, g.Reason))
		ex.Rule, ex.Pool, ex.Answers = rule, g.Pool, g.Answers
		ex.Steps = append(ex.Steps, "answer: "+policy.Phrase(g.Answers, g.Pool, g.Fallback))
		return ex
	}
	return def("no rule answers")
}

func ruleMatches(match []string, pl dnsserver.Place) bool {
	for _, m := range match {
		kind, code, _ := strings.Cut(m, ":")
		switch {
		case kind == spec.GeoDefault:
			return true
		case kind == "continent" && pl.Known && dnsserver.Code2(code) == pl.Continent:
			return true
		case kind == "country" && pl.Known && dnsserver.Code2(code) == pl.Country:
			return true
		}
	}
	return false
}

func explainNearest(ex wire.Explain, d policy.Decision, pl dnsserver.Place, def func(string) wire.Explain) wire.Explain {
	if !pl.HasLocation {
		return def("the database has no location for the client: the pools in the order of the spec's datacenters")
	}
	type site struct {
		g  policy.GeoAnswer
		km float64
	}
	var sites []site
	for _, g := range d.Geo {
		v := dnsserver.UnitVector(g.Location.Lat, g.Location.Lon)
		dot := max(-1, min(1, v[0]*pl.Vec[0]+v[1]*pl.Vec[1]+v[2]*pl.Vec[2]))
		sites = append(sites, site{g, math.Acos(dot) * earthKM})
	}
	slices.SortStableFunc(sites, func(a, b site) int { return int(a.km - b.km) })
	for _, s := range sites {
		if s.g.Pass {
			ex.Steps = append(ex.Steps, fmt.Sprintf("pool %s (datacenter %s, %.0f km): %s", s.g.Pool, s.g.Datacenter, s.km, s.g.Reason))
			continue
		}
		ex.Steps = append(ex.Steps, fmt.Sprintf("pool %s (datacenter %s, %.0f km): nearest healthy: %s", s.g.Pool, s.g.Datacenter, s.km, s.g.Reason))
		ex.Pool, ex.Answers = s.g.Pool, s.g.Answers
		ex.Steps = append(ex.Steps, "answer: "+policy.Phrase(s.g.Answers, s.g.Pool, false))
		return ex
	}
	return def("no pool is healthy")
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
