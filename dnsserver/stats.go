package dnsserver

import "sync/atomic"

// Stats counts replies by rcode. Each serving goroutine owns one, so the
// counters are never contended; readers sum them (see Server.Stats).
type Stats struct {
	Rcode     [16]atomic.Uint64 // by header rcode
	Truncated atomic.Uint64
	Dropped   atomic.Uint64
}

func (s *Stats) count(reply []byte) {
	s.Rcode[reply[3]&0xF].Add(1)
	if reply[2]&0x02 != 0 {
		s.Truncated.Add(1)
	}
}

// Totals is a plain copy of summed Stats.
type Totals struct {
	Rcode     [16]uint64
	Truncated uint64
	Dropped   uint64
}

func (t *Totals) add(s *Stats) {
	for i := range t.Rcode {
		t.Rcode[i] += s.Rcode[i].Load()
	}
	t.Truncated += s.Truncated.Load()
	t.Dropped += s.Dropped.Load()
}

// Queries is the number of replies sent.
func (t *Totals) Queries() uint64 {
	var n uint64
	for _, c := range t.Rcode {
		n += c
	}
	return n
}
