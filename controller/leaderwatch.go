package controller

import (
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// leaderMoved is closed, and replaced, each time this node learns of
// another leader (or of none).
func (l *leadership) leaderMoved() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.moved
}

// noteLeader marks that the leader this node knows changed: requests
// forwarded to the one before are abandoned (see abortOnLeaderChange).
func (l *leadership) noteLeader() {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.moved)
	l.moved = make(chan struct{})
}

// watchLeader makes Raft report every change of the known leader to l.
func (l *leadership) watchLeader(r *raft.Raft) *raft.Observer {
	obs := raft.NewObserver(l.observed, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	r.RegisterObserver(obs)
	return obs
}

// abortOnLeaderChange ends the I/O on c, a connection to the leader,
// once moved closes: a leader that stopped answering (frozen, cut off)
// would hold a forwarded report for the whole timeout, long enough for
// the new leader to judge its observer silent. stop releases the watch.
func abortOnLeaderChange(c net.Conn, moved <-chan struct{}) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-moved:
			_ = c.SetDeadline(time.Now())
		case <-done:
		}
	}()
	return func() { close(done) }
}
