package health

// riseFall applies rise/fall thresholds to a stream of probe outcomes.
//
// The first outcome decides the verdict at once, so that one full round of
// probes gives every target a verdict and a node can become ready. After
// that it takes rise consecutive successes to go up and fall consecutive
// failures to go down; a target that alternates keeps its verdict.
type riseFall struct {
	verdict Verdict
	lastUp  bool
	streak  int // consecutive outcomes equal to lastUp
}

// observe records one outcome and reports whether the verdict changed.
func (s *riseFall) observe(up bool, rise, fall int) (changed bool) {
	if s.streak > 0 && up == s.lastUp {
		s.streak++
	} else {
		s.lastUp, s.streak = up, 1
	}
	next := s.verdict
	switch {
	case s.verdict == Unknown && up:
		next = Up
	case s.verdict == Unknown:
		next = Down
	case s.verdict == Down && up && s.streak >= rise:
		next = Up
	case s.verdict == Up && !up && s.streak >= fall:
		next = Down
	}
	changed = next != s.verdict
	s.verdict = next
	return changed
}
