package controller

import (
	"strings"
	"testing"
)

// via quotes a claim that could pass for a chain of hops.
func TestVia(t *testing.T) {
	for claim, want := range map[string]string{
		"alice":                  "alice via b-1",
		"":                       "unknown via b-1",
		"alice via a-1":          `"alice via a-1" via b-1`,
		"bob\nvia a-1":           `"bob\nvia a-1" via b-1`,
		strings.Repeat("x", 200): strings.Repeat("x", maxAuthor) + " via b-1",
	} {
		if got := via(claim, "b-1"); got != want {
			t.Errorf("via(%q) = %q, want %q", claim, got, want)
		}
	}
}
