package controller

import (
	"context"
	"fmt"
)

// awaitStaged waits until the spec staged at res.StagedAt, which the
// set_spec of res made (or joined), is activated on this replica, and
// returns res with the index of this replica's state then: version
// res.SpecVersion is what the command produced, even when an equal text
// was in force already or a later spec replaced it meanwhile. A spec the
// leader could not compile is an error.
func (s *Store) awaitStaged(ctx context.Context, res Result) (Result, error) {
	for {
		v := s.fsm.View()
		if v.Index() >= res.Index {
			if reason, refused := v.Refused(res.StagedAt, nil); refused {
				return res, fmt.Errorf("%w: %s", ErrRejected, reason)
			}
			if sg := v.Staged(); sg == nil || sg.Index != res.StagedAt {
				// Unstaged: only its activate_spec does that, putting
				// it in force or refusing it (checked above; a
				// refusal is not kept across a restore).
				if v.SpecVersion() < res.SpecVersion {
					return res, fmt.Errorf("%w: spec version %d was not put in force", ErrRejected, res.SpecVersion)
				}
				res.Index = max(res.Index, v.Index())
				return res, nil
			}
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("%w: %w", ErrSpecCompiling, ctx.Err())
		case <-v.Changed():
		}
	}
}
