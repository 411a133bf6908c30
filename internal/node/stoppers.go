package node

import (
	"context"
	"errors"
	"fmt"
)

// stoppers is what a node has started, each with how to stop it, in the
// order started: shutdown is derived from start-up, run in reverse.
type stoppers struct {
	list []stopper
}

type stopper struct {
	name string
	stop func(context.Context) error
}

// add registers how to stop the component just started.
func (s *stoppers) add(name string, stop func(context.Context) error) {
	s.list = append(s.list, stopper{name: name, stop: stop})
}

// stop runs every stopper, last started first, once; it reports every
// failure.
func (s *stoppers) stop(ctx context.Context) error {
	var errs []error
	for i := len(s.list) - 1; i >= 0; i-- {
		st := s.list[i]
		if err := st.stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping %s: %w", st.name, err))
		}
	}
	s.list = nil
	return errors.Join(errs...)
}
