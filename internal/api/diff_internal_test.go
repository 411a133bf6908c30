package api

import "testing"

// A changed line reads as diff -u prints it: the old line, then the new.
func TestLineDiffRemovedBeforeAdded(t *testing.T) {
	got := lineDiff("a\nttl: 1\nb\n", "a\nttl: 5\nb\n")
	want := "  a\n- ttl: 1\n+ ttl: 5\n  b\n"
	if got != want {
		t.Errorf("lineDiff:\n%s\nwant:\n%s", got, want)
	}
	if got := lineDiff("a\n", "a\nb\n"); got != "  a\n+ b\n" {
		t.Errorf("an added line: %q", got)
	}
	if got := lineDiff("a\nb\n", "a\n"); got != "  a\n- b\n" {
		t.Errorf("a removed line: %q", got)
	}
}
