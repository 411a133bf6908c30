package testcluster

// Probes returns how many probes from source IP ip the site has served,
// healthy or not.
func (s *Site) Probes(ip string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.probes[ip]
}
