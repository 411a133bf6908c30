package spec

import (
	"hash/maphash"
	"math/bits"
)

// rrsetTable numbers a zone's static RRsets by name and type: open
// addressing over 64-bit slots (the top 32 bits of the key's hash and
// its number plus one), sized once to twice the records. A Go map of a
// million string keys cost most of compiling a big zone (its probes
// compare keys, each a pointer to follow); here a probe compares the
// hash bits first and follows the name only when they match.
type rrsetTable struct {
	slots []uint64
	keys  []rrsetKey // by number, in the order they came
	seed  maphash.Seed
}

// newRRsetTable makes a table for up to n keys.
func newRRsetTable(n int) *rrsetTable {
	size := 1 << bits.Len(uint(2*n))
	return &rrsetTable{slots: make([]uint64, size), keys: make([]rrsetKey, 0, n), seed: maphash.MakeSeed()}
}

func (t *rrsetTable) hash(k rrsetKey) uint64 {
	return maphash.String(t.seed, k.name) ^ uint64(k.typ)*0x9e3779b97f4a7c15
}

// number returns k's number, adding k if it is new (at most n keys).
func (t *rrsetTable) number(k rrsetKey) (int32, bool) {
	h := t.hash(k)
	tag, mask := h>>32, uint64(len(t.slots)-1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			t.keys = append(t.keys, k)
			t.slots[i] = tag<<32 | uint64(len(t.keys))
			return int32(len(t.keys) - 1), true
		}
		if s>>32 == tag && t.keys[uint32(s)-1] == k {
			return int32(uint32(s) - 1), false
		}
	}
}

// has says whether the table holds k.
func (t *rrsetTable) has(k rrsetKey) bool {
	if t == nil {
		return false
	}
	h := t.hash(k)
	tag, mask := h>>32, uint64(len(t.slots)-1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return false
		}
		if s>>32 == tag && t.keys[uint32(s)-1] == k {
			return true
		}
	}
}
