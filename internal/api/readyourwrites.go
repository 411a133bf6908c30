package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/seed3787e6f1/detour/controller"
)

// ReadYourWritesWait bounds how long the reply to a write waits for this
// node to apply the write, so that it shows the state after the change.
// A node cut off from the leader may not get there: the reply then says
// which index it shows (below the write's).
const ReadYourWritesWait = 5 * time.Second

// commit proposes c through the leader within WriteTimeout, then waits
// until this node has applied it (bounded by ReadYourWritesWait), so
// that a reply rendered from local state reads the write. The caller
// writes the error (see writeStoreError).
func (s *Server) commit(r *http.Request, c *controller.Command) (controller.Result, error) {
	if err := withIdempotencyKey(r, c); err != nil {
		return controller.Result{}, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), WriteTimeout)
	defer cancel()
	res, err := s.store.Propose(ctx, c)
	if err != nil {
		return res, err
	}
	s.awaitApplied(r.Context(), res.Index)
	return res, nil
}

// awaitApplied waits until this node has applied the log up to index, at
// most ReadYourWritesWait. It does not fail the request: the write is
// made, and the reply says which index it shows.
func (s *Server) awaitApplied(ctx context.Context, index uint64) {
	if index == 0 {
		return // a leader of an older version said nothing of where
	}
	ctx, cancel := context.WithTimeout(ctx, ReadYourWritesWait)
	defer cancel()
	if err := s.store.WaitApplied(ctx, index); err != nil {
		s.logger.Warn("the reply to a write shows this node's state from before it", "index", index, "err", err)
	}
}

// catchUp brings this node up to what the leader has applied, at most
// ReadYourWritesWait, before a check against local state that must not
// be stale (is the spec sent already the one in force?). It reports
// whether it got there: when it gives up, local state may trail the
// leader's, and must not be taken for the cluster's.
func (s *Server) catchUp(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, ReadYourWritesWait)
	defer cancel()
	index, err := s.store.ReadIndex(ctx)
	if err != nil {
		s.logger.Debug("catching up with the leader", "err", err)
		return false
	}
	if index == 0 {
		return true // a leader of an older version said nothing of where
	}
	if err := s.store.WaitApplied(ctx, index); err != nil {
		s.logger.Debug("catching up with the leader", "index", index, "err", err)
		return false
	}
	return true
}

// behind is the note a write's reply carries when this node had not
// applied the write in time: what it shows is from before the change.
func behind(shown, write uint64) string {
	if write == 0 || shown >= write {
		return ""
	}
	return fmt.Sprintf(" (this node has not applied the change yet: it shows entry %d, the change is entry %d; ask again, or ask the leader)", shown, write)
}
