package spec

import (
	"bytes"
	"encoding/json"
)

// SameZone reports whether s defines zone name as o does: the zone's
// settings, its static text and file, and the health-driven records that
// live in it. Whatever else differs between the specs does not count, so
// a replicated state can tell which zones a spec change touched from the
// specs alone, without a DNS library's rendering of them. A zone either
// spec lacks (or an unvalidated spec) is not the same.
func (s *Spec) SameZone(o *Spec, name string) bool {
	if s == nil || o == nil {
		return false
	}
	a, b := s.zoneDef(name), o.zoneDef(name)
	if a == nil || b == nil {
		return false
	}
	// The texts may be megabytes: compared as they are, not encoded.
	if a.zone.Static != b.zone.Static || a.zone.FileText != b.zone.FileText {
		return false
	}
	return bytes.Equal(a.encode(), b.encode())
}

// zoneDef is a zone's part of a spec.
type zoneDef struct {
	zone    *Zone
	records []*Record
}

func (s *Spec) zoneDef(name string) *zoneDef {
	cz := s.compiled[name]
	if cz == nil {
		return nil
	}
	for i := range s.Zones {
		if s.Zones[i].Name == name {
			return &zoneDef{zone: &s.Zones[i], records: cz.Dynamic}
		}
	}
	return nil
}

// encode is the zone's settings and records, its texts apart.
func (d *zoneDef) encode() []byte {
	settings := *d.zone
	settings.Static, settings.FileText = "", ""
	b, err := json.Marshal(struct {
		Zone    Zone      `json:"zone"`
		Records []*Record `json:"records"`
	}{settings, d.records})
	if err != nil {
		// Spec types are plain data: never here.
		return []byte(err.Error())
	}
	return b
}
