package testutil

import (
	"context"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil/fixture"
)

// Eventually waits until cond holds, asking every 10ms, and fails the
// test with what it waited for once timeout has passed.
func Eventually(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	if err := fixture.Poll(context.Background(), timeout, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
