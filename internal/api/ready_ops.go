package api

// Ready says what GET /v1/ready says: no storage or state-machine
// problem, not cut off from the leader, and a leader, the spec and a
// first round of checks seen (the detour_ready metric).
func (s *Server) Ready() bool { return s.notReady() == "" }

// notReady says why this node is not ready, "" when it is: the one
// judgement behind GET /v1/ready and Ready.
func (s *Server) notReady() string {
	if err := s.store.Problem(); err != nil {
		return err.Error()
	}
	if m := s.minority.Status(); m.CutOff {
		return "cut off: " + m.Message
	}
	if !s.ready.Load() {
		return "waiting for a leader, the spec and the first round of checks"
	}
	return ""
}
