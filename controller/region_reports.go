package controller

// committedReports are the verdict changes of this node's reports that
// committed but that this node has not applied yet. Propose returns once
// the leader commits; a follower learns of the commit only with the
// leader's next message (up to two CommitTimeouts later), and a report
// made meanwhile from its applied state would carry every change of the
// last one again: when a datacenter is lost, that is a report of
// thousands of verdicts sent two or three times over, each costing every
// node its decoding and derivation while the failover waits.
type committedReports struct {
	changes map[[2]string]VerdictChange // by pool and address
	index   uint64                      // the highest index among them
}

// note records the changes of a report committed at index.
func (c *committedReports) note(index uint64, changes []VerdictChange) {
	if c.changes == nil {
		c.changes = map[[2]string]VerdictChange{}
	}
	for _, ch := range changes {
		c.changes[[2]string{ch.Pool, ch.Address}] = ch
	}
	c.index = max(c.index, index)
}

// over lays the changes not yet applied at applied over held, what the
// applied state holds for this observer, and forgets them once applied.
func (c *committedReports) over(applied uint64, held map[[2]string]Verdict) {
	if applied >= c.index {
		c.changes, c.index = nil, 0
		return
	}
	for k, ch := range c.changes {
		if ch.Forget {
			delete(held, k)
			continue
		}
		held[k] = Verdict{Up: ch.Up}
	}
}
