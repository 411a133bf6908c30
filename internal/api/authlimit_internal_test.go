package api

import (
	"fmt"
	"testing"
	"time"
)

// Failures from more sources than the limiter remembers keep its
// memory bounded; a source's window ends and it may try again.
func TestAuthLimiterBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newAuthLimiter(3, time.Minute)
	l.now = func() time.Time { return now }
	for i := range maxAuthSources + 500 {
		l.fail(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
		now = now.Add(time.Millisecond)
	}
	if n := len(l.sources); n > maxAuthSources {
		t.Fatalf("%d sources remembered, bound %d", n, maxAuthSources)
	}
	for range 3 {
		l.fail("192.0.2.1")
	}
	if wait, limited := l.blocked("192.0.2.1"); !limited || wait <= 0 || wait > time.Minute {
		t.Fatalf("after 3 failures: limited %v for %s", limited, wait)
	}
	now = now.Add(time.Minute)
	if _, limited := l.blocked("192.0.2.1"); limited {
		t.Fatal("still limited after its window")
	}
}
