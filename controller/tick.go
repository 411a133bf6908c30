package controller

import (
	"context"
	"time"
)

// every calls fn at each tick of d until ctx ends or fn returns false:
// the shape of the store's periodic duties and leader tasks.
func every(ctx context.Context, d time.Duration, fn func() bool) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !fn() {
			return
		}
	}
}
