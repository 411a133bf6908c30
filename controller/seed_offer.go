package controller

import (
	"runtime/debug"
	"weak"

	"github.com/seed3787e6f1/detour/spec"
)

// offerSeed offers this node's seed spec, inlined, to the compile of
// the spec staged next. Every node of a cluster usually starts with the
// same --spec file, and the first leader proposes it as canonical JSON
// (YAML that every version parses into this spec, and far cheaper to
// write than Marshal's YAML: spec/canonical.go): each replica then
// stages the very text its own seed's canonical JSON is, and uses the
// seed it parsed and validated at start instead of parsing that text
// again (for a million records, seconds of CPU and a second peak of
// memory). The offer is only taken for the same bytes (startCompile),
// and it is withdrawn with the seed (dropSeed).
func (s *Store) offerSeed() {
	seed := s.seed.Load()
	if seed == nil {
		return
	}
	in := seed.Inlined()
	yaml, err := in.CanonicalJSON()
	if err != nil {
		return // seedSpec reports it
	}
	s.seedOffer.Store(s.fsm.offer(yaml, in))
	w := weak.Make(in)
	s.seedInlined.Store(&w)
}

// seedCommand is the set_spec that seeds the cluster with seed: the
// inlined spec and its text, as offered at start when they still are,
// so that neither this node's proposal nor its compile parses the text.
func (s *Store) seedCommand(seed *spec.Spec) (*SetSpec, error) {
	author := "seed from " + s.cfg.NodeID
	if o := s.seedOffer.Load(); o != nil {
		return ParsedSpec(o.spec, o.yaml, author), nil
	}
	in := seed.Inlined()
	yaml, err := in.CanonicalJSON()
	if err != nil {
		return nil, err
	}
	return ParsedSpec(in, yaml, author), nil
}

// freeBigSeed returns the memory of a big seed spec just dropped to the
// OS, off the caller's path: the publisher did so after compiling the
// cluster's spec, but the seed (its text, its marshalled form, whatever
// of its compile the cluster's spec does not share) became garbage
// after that, and an idle node may not collect again for minutes.
func freeBigSeed(seed *spec.Spec) {
	n := 0
	for _, cz := range seed.CompiledZones() {
		n += cz.StaticCount()
	}
	if n >= bigZoneNames {
		go debug.FreeOSMemory()
	}
}
