package controller

import (
	"context"
	"time"
)

// ReadIndex returns the index of the last command the leader has applied,
// asking it (forwarded from a follower) after it confirmed with a quorum
// that it still leads: every write acknowledged to any client is at or
// below it. A node that waits until it has applied that index
// (WaitApplied) reads what every write acknowledged before the call
// wrote, as the leader would. It retries across leader changes until ctx
// ends.
func (s *Store) ReadIndex(ctx context.Context) (uint64, error) {
	res, err := s.onLeader(ctx, rpcRequest{Op: opReadIndex})
	return res.Index, err
}

// readIndexBarrier bounds the barrier of readIndexLocal (the caller
// retries until its context ends).
const readIndexBarrier = 3 * time.Second

// readIndexLocal answers ReadIndex on this node, the leader. A barrier,
// not VerifyLeader: the leader's state machine may trail what it
// committed (an apply waiting for a spec's compile; a new leader whose
// term has no committed entry yet), and followers may have applied
// more, so its applied index alone could send a reader to a state
// older than a write another node acknowledged (chaos seed 5018). The
// barrier commits with a quorum, which confirms the leadership, and
// returns once the state machine applied everything before it.
func (s *Store) readIndexLocal() (retry bool, res Result, err error) {
	if err := s.raft.Barrier(readIndexBarrier).Error(); err != nil {
		return leadershipError(err), res, err
	}
	return false, Result{Index: s.fsm.AppliedIndex()}, nil
}
