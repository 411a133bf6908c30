package controller

import (
	"sync"

	"github.com/hashicorp/raft"
)

// bigLogAbove is the size of entry data past which logStore keeps the
// latest such entry in memory (bigEntry).
const bigLogAbove = 1 << 20

// bigEntry keeps the latest big entry stored (a spec of a million
// records is 7 MB of command), for the leader's replication, which
// reads each entry back for every follower: from bolt that decoded it
// again each time. Any deletion, and any store at its index, forgets it
// first, so that it never stands for what the store no longer holds.
type bigEntry struct {
	mu  sync.Mutex
	log *raft.Log
}

// forget drops the entry kept.
func (b *bigEntry) forget() {
	b.mu.Lock()
	b.log = nil
	b.mu.Unlock()
}

// storing is called before logs are stored: an entry kept at one of
// their indexes is forgotten.
func (b *bigEntry) storing(logs []*raft.Log) {
	if len(logs) == 0 {
		return
	}
	b.mu.Lock()
	if b.log != nil && b.log.Index >= logs[0].Index {
		b.log = nil
	}
	b.mu.Unlock()
}

// stored keeps the last big entry of logs, stored.
func (b *bigEntry) stored(logs []*raft.Log) {
	for i := len(logs) - 1; i >= 0; i-- {
		if len(logs[i].Data) > bigLogAbove {
			b.mu.Lock()
			b.log = logs[i]
			b.mu.Unlock()
			return
		}
	}
}

// get copies the entry kept at index into log and says whether it did.
func (b *bigEntry) get(index uint64, log *raft.Log) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.log == nil || b.log.Index != index {
		return false
	}
	*log = *b.log
	return true
}

// GetLog implements raft.LogStore, serving the big entry kept.
func (l *logStore) GetLog(index uint64, log *raft.Log) error {
	if l.big.get(index, log) {
		return nil
	}
	return l.LogStore.GetLog(index, log)
}
