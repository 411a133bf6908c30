package health

// riseFall applies rise/fall thresholds to a stream of probe outcomes.
//
// The first verdict respects the thresholds too: a target is Unknown
// until rise consecutive successes make it Up or fall consecutive
// failures make it Down, so a node or site that restarts does not report
// down on one failed probe (nor up on one lucky one). After that it
// takes rise consecutive successes to go up and fall consecutive
// failures to go down; a target that alternates keeps its verdict (and
// one that alternates from the start stays Unknown, which the cluster
// counts as no opinion).
type riseFall struct {
	verdict Verdict
	lastUp  bool
	streak  int // consecutive outcomes equal to lastUp
	seen    int // outcomes observed, capped
}

// observe records one outcome and reports whether the verdict changed.
func (s *riseFall) observe(up bool, rise, fall int) (changed bool) {
	if s.streak > 0 && up == s.lastUp {
		s.streak++
	} else {
		s.lastUp, s.streak = up, 1
	}
	if s.seen < 1<<20 {
		s.seen++
	}
	next := s.verdict
	switch {
	case s.verdict != Up && up && s.streak >= rise:
		next = Up
	case s.verdict != Down && !up && s.streak >= fall:
		next = Down
	}
	changed = next != s.verdict
	s.verdict = next
	return changed
}

// settled reports whether the target has had its chance at a first
// verdict: it has one, or it was probed often enough that a steady
// target would have one (it flaps). The first round of checks waits for
// no more than that.
func (s *riseFall) settled(rise, fall int) bool {
	return s.verdict != Unknown || s.seen >= max(rise, fall)
}
