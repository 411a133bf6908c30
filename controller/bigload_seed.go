package controller

import "github.com/seed3787e6f1/detour/spec"

// HeldIsSeed says whether sp, a spec this replica holds, is the one
// made of this node's seed at start (offerSeed) and taken by its
// compile: the seed's own spec, inlined, so the same as the --spec file
// without comparing the two (for a million records, two canonical
// encodings of 30 MB each). Held weakly: once no replica state holds it,
// the answer is false and the caller compares.
func (s *Store) HeldIsSeed(sp *spec.Spec) bool {
	w := s.seedInlined.Load()
	return sp != nil && w != nil && w.Value() == sp
}
