package spec

// Inlined returns s as Parse reads back what Marshal writes of it: zone
// files joined to their zone's static text, CA files replaced by the PEM
// already read, no path left. The compiled zones are shared with s, as
// both compile alike. A node that loaded its spec from files uses it to
// stand for the replicated text of the same spec without parsing that
// text again: only the self-contained form may, since replicas compare
// zones' texts (SameZone) and must all see the same ones.
func (s *Spec) Inlined() *Spec {
	c := *s
	c.Checks = append([]Check(nil), s.Checks...)
	for i := range c.Checks {
		c.Checks[i].CAFile = ""
	}
	c.Zones = append([]Zone(nil), s.Zones...)
	for i := range c.Zones {
		z := &c.Zones[i]
		if z.FileText != "" {
			z.Static = joinZoneText(z)
		}
		z.File, z.FileText = "", ""
	}
	return &c
}
