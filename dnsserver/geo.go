package dnsserver

import (
	"math"
	"net/netip"
	"slices"
)

// Geo says how a health-driven record's answer depends on where the
// client is. A DynamicAnswer's own Variants are then the answer for
// clients the database does not place; Geo holds the others, each
// packed once per snapshot so that a query costs one database lookup.
type Geo struct {
	// Rules (policy geo) are tried in order; the first that matches the
	// client and does not pass answers.
	Rules []GeoRule
	// Sites (policy nearest) are tried by distance from the client; the
	// nearest that does not pass answers.
	Sites []GeoSite
}

// GeoRule is one rule of a geo record.
type GeoRule struct {
	// Continents and Countries are upper-case codes; Default matches
	// every client.
	Continents, Countries []string
	Default               bool
	// Pass sends matching clients on to the next matching rule.
	Pass     bool
	Variants []Variant
}

// GeoSite is one pool of a nearest record, where its datacenter is.
type GeoSite struct {
	Lat, Lon float64
	// Pass: the pool is down; clients go to the next nearest.
	Pass     bool
	Variants []Variant
}

// Place is where the database puts a client address.
type Place struct {
	// Known is false for an address the database does not hold.
	Known bool
	// Continent and Country are upper-case codes ("EU", "DE"), zero
	// when unknown.
	Continent, Country [2]byte
	// HasLocation says Vec holds the place as a unit vector (see
	// UnitVector): the nearest policy needs it.
	HasLocation bool
	Vec         [3]float64
	// Bits is the prefix length of the database network holding the
	// address: the scope of a tailored answer.
	Bits int
}

// Locator places client addresses. LocateInto is called once per query
// to a geo record and must be safe for concurrent use and cheap: it sets
// *pl to where addr is (a Place is filled in place rather than returned:
// copying one costs more than the rest of a cached lookup).
type Locator interface {
	LocateInto(addr netip.Addr, pl *Place)
}

// UnitVector turns a latitude and longitude (degrees) into a point on
// the unit sphere: the larger the dot product of two such points, the
// shorter the great circle between them, so the nearest site costs
// three multiplications per site and no trigonometry per query.
func UnitVector(lat, lon float64) [3]float64 {
	sla, cla := math.Sincos(lat * math.Pi / 180)
	slo, clo := math.Sincos(lon * math.Pi / 180)
	return [3]float64{cla * clo, cla * slo, sla}
}

// Code2 turns a two-letter code into a Place's form.
func Code2(s string) [2]byte {
	if len(s) != 2 {
		return [2]byte{}
	}
	return [2]byte{s[0], s[1]}
}

// geoIndex holds the packed answers of a snapshot's geo records, by the
// question's key, in a table of 256 short lists indexed by a hash of a
// few bytes of the key: a query for any other name usually finds its
// list empty, a geo query compares one key, and neither hashes the
// whole key as a map lookup would (a few ns every query would pay).
type geoIndex struct {
	slots [256][]geoEntry
}

type geoEntry struct {
	key string
	g   *geoPacked
}

// slotOf is key's list in a geoIndex.
func slotOf(key []byte) uint8 {
	if len(key) < 2 {
		return 0
	}
	return uint8(uint(len(key))*131 + uint(key[1])*31 + uint(key[len(key)-1]))
}

// get returns the packed answers for key, or nil.
func (x *geoIndex) get(key []byte) *geoPacked {
	for _, e := range x.slots[slotOf(key)] {
		if e.key == string(key) {
			return e.g
		}
	}
	return nil
}

// put adds key's packed answers.
func (x *geoIndex) put(key string, g *geoPacked) {
	b := slotOf([]byte(key))
	x.slots[b] = append(x.slots[b], geoEntry{key: key, g: g})
}

// geoPacked holds a geo record's packed answers for one (name, type):
// one per rule or site, the resolution of the question with that rule's
// or site's answer in place of the record's.
type geoPacked struct {
	rules []packedRule
	// liveVec and liveP are the sites that do not pass, the only ones
	// pick looks at, in the record's order: where each is, and its
	// answer (two flat arrays: the loop reads vectors only).
	liveVec [][3]float64
	liveP   []*packed
	def     *packed // clients not placed
}

type packedRule struct {
	continents, countries [][2]byte
	def, pass             bool
	p                     *packed
}

// byRules returns the answer of the first rule that matches pl and does
// not pass, or the default.
func (g *geoPacked) byRules(pl *Place) *packed {
	for i := range g.rules {
		r := &g.rules[i]
		if !r.matches(pl) {
			continue
		}
		if r.pass {
			continue
		}
		return r.p
	}
	return g.def
}

// nearest returns the answer of the live site nearest to pl: the first
// of the largest dot products, the record's order breaking ties.
func (g *geoPacked) nearest(pl *Place) *packed {
	ps := g.liveP
	if !pl.HasLocation || len(ps) == 0 {
		return g.def
	}
	if len(ps) == 1 {
		return ps[0]
	}
	vs := g.liveVec[:len(ps)]
	x, y, z := pl.Vec[0], pl.Vec[1], pl.Vec[2]
	best, bestDot := 0, vs[0][0]*x+vs[0][1]*y+vs[0][2]*z
	for i := 1; i < len(vs); i++ {
		d := vs[i][0]*x + vs[i][1]*y + vs[i][2]*z
		// Two selections (a conditional move, max) rather than a branch
		// the processor would guess wrong for every other client.
		gt := 0
		if d > bestDot {
			gt = 1
		}
		best += gt * (i - best)
		bestDot = max(bestDot, d)
	}
	return ps[best]
}

func (r *packedRule) matches(pl *Place) bool {
	if r.def {
		return true
	}
	for _, c := range r.continents {
		if c == pl.Continent {
			return pl.Continent != [2]byte{}
		}
	}
	for _, c := range r.countries {
		if c == pl.Country {
			return pl.Country != [2]byte{}
		}
	}
	return false
}

// normaliseGeo copies g with its variants' owner names set to name.
func normaliseGeo(g *Geo, name string) *Geo {
	if g == nil {
		return nil
	}
	out := &Geo{}
	for _, r := range g.Rules {
		r.Variants = normalise(DynamicAnswer{Variants: r.Variants}, name).Variants
		out.Rules = append(out.Rules, r)
	}
	for _, s := range g.Sites {
		s.Variants = normalise(DynamicAnswer{Variants: s.Variants}, name).Variants
		out.Sites = append(out.Sites, s)
	}
	return out
}

// packGeos packs, for every question whose answer involves one geo
// record, that answer once per rule or site. Questions involving two geo
// records, or a geo record and a weighted one, are answered with the
// records' default answers. Without a geo record in dyn it does nothing:
// the build of a spec without one pays nothing for it.
func (s *Snapshot) packGeos(keys []qkey, dyn []DynamicAnswer) *geoIndex {
	if !slices.ContainsFunc(dyn, func(d DynamicAnswer) bool { return d.Geo != nil }) {
		return nil
	}
	var out *geoIndex
	for _, k := range keys {
		geo := s.geoOf(k)
		if geo == nil {
			continue
		}
		key := string(wireKey(nil, k.name, k.typ))
		gp := s.packGeo(k, geo, s.overlay[key], false)
		if gp == nil {
			continue
		}
		if out == nil {
			out = &geoIndex{}
		}
		out.put(key, gp)
	}
	return out
}

// packGeo packs question k once per rule or site of geo; def is the
// question's default answer. do packs the answers signed, for queries
// with DO (geo_signed.go).
func (s *Snapshot) packGeo(k qkey, geo *Geo, def *packed, do bool) *geoPacked {
	if def == nil {
		return nil
	}
	packWith := func(v []Variant) *packed {
		r := &resolver{zs: s.zs, snap: s, geoPick: func(*Geo) ([]Variant, bool) { return v, true }}
		res := r.resolve(k.name, k.typ)
		if w := s.packRes(&res, k.name, k.typ, do); w != nil {
			return &packed{wire: w}
		}
		return nil
	}
	gp := &geoPacked{def: def}
	for _, r := range geo.Rules {
		pr := packedRule{def: r.Default, pass: r.Pass, p: packWith(r.Variants)}
		for _, c := range r.Continents {
			pr.continents = append(pr.continents, Code2(c))
		}
		for _, c := range r.Countries {
			pr.countries = append(pr.countries, Code2(c))
		}
		if pr.p == nil {
			return nil
		}
		gp.rules = append(gp.rules, pr)
	}
	for _, st := range geo.Sites {
		p := packWith(st.Variants)
		if p == nil {
			return nil
		}
		if !st.Pass {
			gp.liveVec = append(gp.liveVec, UnitVector(st.Lat, st.Lon))
			gp.liveP = append(gp.liveP, p)
		}
	}
	return gp
}

// geoVariants is what the resolver answers for a geo record: the
// variants geoPick chose, or the record's own.
func (r *resolver) geoVariants(d *DynamicAnswer) []Variant {
	if d.Geo == nil {
		return d.Variants
	}
	r.geoSeen++
	if r.geoPick != nil {
		if v, ok := r.geoPick(d.Geo); ok {
			return v
		}
	}
	return d.Variants
}

// geoFast answers a fast-path query for a geo record from the packed
// answer of where the client is, or returns nil for any other question.
// The client is the ECS address when the query has one (RFC 7871), else
// the source address. geos is the snapshot's geo answers, or their
// signed copies for a query with DO in a signed zone.
func (h *Handler) geoFast(geos *geoIndex, msg []byte, q *query, sc *Scratch, limit int, client netip.Addr) []byte {
	if geos == nil {
		return nil
	}
	g := geos.get(sc.key)
	if g == nil {
		return nil
	}
	p := g.def
	addr := client
	if q.ecs {
		addr = q.ecsAddr()
	}
	// A SOURCE PREFIX-LENGTH of 0 asks for an answer that does not
	// depend on the client (RFC 7871 7.1.2): the default, scope 0.
	if h.opts.Geo != nil && addr.IsValid() && !(q.ecs && q.ecsSource == 0) {
		pl := &sc.place
		h.opts.Geo.LocateInto(addr, pl)
		if g.rules != nil {
			p = g.byRules(pl)
		} else {
			p = g.nearest(pl)
		}
		// The answer holds for the database's network; never claim
		// more bits than the client sent (the rest were padding).
		q.ecsScope = uint8(min(pl.Bits, int(q.ecsSource)))
	}
	sc.out = finish(sc.out, p.choose(sc.next()), msg, q, limit, 0, -1)
	return sc.out
}
