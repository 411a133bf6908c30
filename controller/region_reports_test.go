package controller

import "testing"

// TestCommittedReportsOverlay: what a committed report carried counts as
// held until this node applies its index, then the applied state alone.
func TestCommittedReportsOverlay(t *testing.T) {
	var c committedReports
	a, b := [2]string{"p", "192.0.2.1"}, [2]string{"p", "192.0.2.2"}
	c.note(7, []VerdictChange{{Pool: "p", Address: "192.0.2.1", Up: false}})
	c.note(9, []VerdictChange{{Pool: "p", Address: "192.0.2.2", Forget: true}})

	held := map[[2]string]Verdict{a: {Up: true}, b: {Up: true}}
	c.over(8, held)
	if v, ok := held[a]; !ok || v.Up {
		t.Errorf("before entry 9 is applied: %v held %+v, want down (committed at 7)", a, v)
	}
	if _, ok := held[b]; ok {
		t.Errorf("before entry 9 is applied: %v held, want forgotten", b)
	}

	held = map[[2]string]Verdict{a: {Up: true}, b: {Up: true}}
	c.over(9, held)
	if !held[a].Up || !held[b].Up {
		t.Errorf("once entry 9 is applied the applied state alone counts: %+v", held)
	}
	held = map[[2]string]Verdict{a: {Up: true}}
	c.over(0, held)
	if !held[a].Up {
		t.Errorf("nothing committed is left: %+v", held)
	}
}
