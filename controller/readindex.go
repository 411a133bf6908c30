package controller

import "context"

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

// readIndexLocal answers ReadIndex on this node, the leader.
func (s *Store) readIndexLocal() (retry bool, res Result, err error) {
	if err := s.raft.VerifyLeader().Error(); err != nil {
		return leadershipError(err), res, err
	}
	return false, Result{Index: s.fsm.AppliedIndex()}, nil
}
