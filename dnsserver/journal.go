package dnsserver

import (
	"sync"

	"github.com/miekg/dns"
)

// DefaultJournalSize is how many serial changes per zone the server keeps
// for IXFR.
const DefaultJournalSize = 100

// maxDiffRecords bounds the zones the journal diffs record by record on a
// spec change; a bigger zone's journal restarts instead, and secondaries
// behind it get an AXFR.
const maxDiffRecords = 200_000

// delta is one serial change of a zone, as IXFR sends it.
type delta struct {
	from, to *dns.SOA
	del, add []dns.RR
}

// journal keeps each zone's recent serial changes, oldest first, each
// starting where the previous one ended. Serials are the same on every
// node, so any node answers IXFR from its own journal; a node that just
// started has none and answers with the whole zone (RFC 1995 allows it).
type journal struct {
	size int

	mu    sync.Mutex
	zones map[string][]delta
}

func newJournal(size int) *journal {
	if size <= 0 {
		size = DefaultJournalSize
	}
	return &journal{size: size, zones: map[string][]delta{}}
}

// add appends a change; one that does not follow the last change starts
// the zone's journal over.
func (j *journal) add(origin string, d delta) {
	j.mu.Lock()
	defer j.mu.Unlock()
	list := j.zones[origin]
	if n := len(list); n > 0 && list[n-1].to.Serial != d.from.Serial {
		list = nil
	}
	if len(list) >= j.size {
		list = append(list[:0:0], list[len(list)-j.size+1:]...)
	}
	j.zones[origin] = append(list, d)
}

// reset forgets a zone's changes.
func (j *journal) reset(origin string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.zones, origin)
}

// since returns the changes leading from serial to current, or false when
// the journal does not hold that whole path.
func (j *journal) since(origin string, serial, current uint32) ([]delta, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	list := j.zones[origin]
	if len(list) == 0 || list[len(list)-1].to.Serial != current {
		return nil, false
	}
	for i := range list {
		if list[i].from.Serial == serial {
			return append([]delta(nil), list[i:]...), true
		}
	}
	return nil, false
}
