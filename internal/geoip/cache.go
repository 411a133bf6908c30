package geoip

import (
	"math"
	"sync/atomic"

	"github.com/seed3787e6f1/detour/dnsserver"
)

// slot is one entry of a direct-mapped cache of places: fixed size, no
// pointers, so a miss stores without allocating and the cache never
// grows. Readers and writers use atomics only, under a sequence number
// (a seqlock): a writer makes it odd while it writes, and a reader that
// sees it odd or changed treats the entry as a miss. Two writers of one
// slot at once: the second skips its store.
type slot struct {
	seq  atomic.Uint32
	key  atomic.Uint64
	meta atomic.Uint64 // see packMeta; 0 is an empty slot
	vec  [3]atomic.Uint64
}

// Bits of a slot's meta word.
const (
	metaValid    = 1 << 0
	metaKnown    = 1 << 1
	metaLocation = 1 << 2
	// The continent, country and prefix length follow.
	metaContinentShift = 8
	metaCountryShift   = 24
	metaBitsShift      = 40
	metaSubShift       = 48
)

// packMeta is pl without its vector, as one word.
func packMeta(pl *dnsserver.Place) uint64 {
	m := uint64(metaValid)
	if pl.Known {
		m |= metaKnown
	}
	if pl.HasLocation {
		m |= metaLocation
	}
	m |= uint64(pl.Continent[0])<<metaContinentShift | uint64(pl.Continent[1])<<(metaContinentShift+8)
	m |= uint64(pl.Country[0])<<metaCountryShift | uint64(pl.Country[1])<<(metaCountryShift+8)
	return m | uint64(uint8(pl.Bits))<<metaBitsShift
}

// store puts pl in s under key; sub is the last octet of an IPv4
// database network longer than the /24 key (0 otherwise).
func (s *slot) store(key uint64, sub uint8, pl *dnsserver.Place) {
	seq := s.seq.Load()
	if seq&1 != 0 || !s.seq.CompareAndSwap(seq, seq+1) {
		return
	}
	s.key.Store(key)
	s.meta.Store(packMeta(pl) | uint64(sub)<<metaSubShift)
	for i := range s.vec {
		s.vec[i].Store(math.Float64bits(pl.Vec[i]))
	}
	s.seq.Store(seq + 2)
}

// load fills pl from s if it holds key, and reports whether it did and
// the sub it was stored with.
func (s *slot) load(key uint64, pl *dnsserver.Place) (uint8, bool) {
	seq := s.seq.Load()
	if seq&1 != 0 || s.key.Load() != key {
		return 0, false
	}
	m := s.meta.Load()
	v0, v1, v2 := s.vec[0].Load(), s.vec[1].Load(), s.vec[2].Load()
	if m&metaValid == 0 || s.seq.Load() != seq {
		return 0, false
	}
	// Field by field: a composite literal is built aside and copied.
	pl.Known = m&metaKnown != 0
	pl.Continent = [2]byte{byte(m >> metaContinentShift), byte(m >> (metaContinentShift + 8))}
	pl.Country = [2]byte{byte(m >> metaCountryShift), byte(m >> (metaCountryShift + 8))}
	pl.HasLocation = m&metaLocation != 0
	pl.Vec[0], pl.Vec[1], pl.Vec[2] = math.Float64frombits(v0), math.Float64frombits(v1), math.Float64frombits(v2)
	pl.Bits = int(uint8(m >> metaBitsShift))
	return uint8(m >> metaSubShift), true
}
