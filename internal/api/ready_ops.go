package api

// Ready says what GET /v1/ready says: no storage or state-machine
// problem, not cut off from the leader, and a leader, the spec and a
// first round of checks seen (the detour_ready metric).
func (s *Server) Ready() bool {
	return s.store.Problem() == nil && !s.minority.Status().CutOff && s.ready.Load()
}
