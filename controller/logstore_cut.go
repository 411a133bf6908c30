package controller

import (
	"sync"

	"github.com/hashicorp/raft"
)

// pendingCut puts off the deletion of a log suffix until the entries that
// replace it are stored, and drops it when they cannot be.
//
// A follower that finds entries conflicting with the leader's deletes its
// suffix from the conflict on, then stores the leader's entries. When that
// store fails (a full disk), hashicorp/raft keeps the deleted suffix's
// last index and term as its own ("TODO: leaving r.getLastLog() in the
// wrong state if there was a truncation above"): every later append
// compares with entries that no longer exist ("failed to get log entry
// ... log not found"), fails, and the node never catches up, even once its
// disk has room (chaos seed 5002). Storing first and deleting after keeps
// the store what raft believes it is: the old suffix until the new
// entries are in, the new entries after. A deletion that is not a suffix
// (compaction after a snapshot, from the first index) is done at once.
type pendingCut struct {
	mu     sync.Mutex
	lo, hi uint64
	set    bool
}

// put records the deletion of [lo, hi] for the next store when it
// removes the log's suffix from after its first entry, and says whether
// it did.
func (p *pendingCut) put(s raft.LogStore, lo, hi uint64) bool {
	first, err := s.FirstIndex()
	if err != nil {
		return false
	}
	last, err := s.LastIndex()
	if err != nil || hi < last || lo <= first {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lo, p.hi, p.set = lo, hi, true
	return true
}

// store stores logs, then deletes what is left of a pending cut beyond
// them; when the store fails, the cut is dropped (raft believes the old
// suffix is still there, and it is). A failed deletion is returned as the
// store's failure: raft then still believes in the old suffix's last
// entry, which is still there, and retries.
func (p *pendingCut) store(s raft.LogStore, logs []*raft.Log) error {
	p.mu.Lock()
	lo, hi, set := p.lo, p.hi, p.set
	p.set = false
	p.mu.Unlock()
	if err := s.StoreLogs(logs); err != nil || !set || len(logs) == 0 {
		return err
	}
	from, to := logs[0].Index, logs[len(logs)-1].Index
	if lo < from {
		if err := s.DeleteRange(lo, from-1); err != nil {
			return err
		}
	}
	if to < hi {
		return s.DeleteRange(to+1, hi)
	}
	return nil
}
