package dnsserver

// Geo answers in signed zones. A signed snapshot packs every question
// whose answer involves a geo record (a geo or nearest record, or a
// CNAME to one) once per rule or site, as the unsigned snapshot does,
// and a second time signed: a query with DO in a signed zone then gets
// the signed answer of where the client is, with the same ECS scope as
// one without, from the fast path and without signing anything per
// query.

// packSignedGeos packs the geo answers of a snapshot derived from from
// by signing: for queries without DO again (its SOA serial may have
// moved, and negative answers carry it), and for questions in signed
// zones signed, for queries with DO.
func (s *Snapshot) packSignedGeos(from *Snapshot) {
	if from.geo == nil {
		return
	}
	s.geo = &geoIndex{}
	for _, k := range s.zs.overlayKeys {
		key := string(wireKey(nil, k.name, k.typ))
		if from.geo.get([]byte(key)) == nil {
			continue
		}
		geo := s.geoOf(k)
		if geo == nil {
			continue
		}
		if gp := s.packGeo(k, geo, s.overlay[key], false); gp != nil {
			s.geo.put(key, gp)
		}
		z := s.zs.findZone(k.name)
		if z == nil || !s.dnssec.signs(z.origin) {
			continue
		}
		if gp := s.packGeo(k, geo, s.dnssec.packed[key], true); gp != nil {
			if s.dnssec.geo == nil {
				s.dnssec.geo = &geoIndex{}
			}
			s.dnssec.geo.put(key, gp)
		}
	}
}

// geoOf returns the geo record the answer to k involves, or nil.
func (s *Snapshot) geoOf(k qkey) *Geo {
	var geo *Geo
	r := &resolver{zs: s.zs, snap: s, geoPick: func(g *Geo) ([]Variant, bool) { geo = g; return nil, false }}
	r.resolve(k.name, k.typ)
	if r.geoSeen != 1 || r.weightedSeen > 0 {
		return nil
	}
	return geo
}
