package health

import "testing"

func TestRiseFall(t *testing.T) {
	const U, D = true, false
	cases := []struct {
		name       string
		rise, fall int
		in         []bool
		want       []Verdict // verdict after each outcome
	}{
		{"first success is not enough with rise 2", 2, 2, []bool{U, U}, []Verdict{Unknown, Up}},
		{"first failure is not enough with fall 3", 2, 3, []bool{D, D, D}, []Verdict{Unknown, Unknown, Down}},
		{"rise 1 decides up at once", 1, 3, []bool{U}, []Verdict{Up}},
		{"fall 1 decides down at once", 2, 1, []bool{D}, []Verdict{Down}},
		{"a failure breaks the first streak", 2, 3, []bool{D, D, U, D, D, D}, []Verdict{Unknown, Unknown, Unknown, Unknown, Unknown, Down}},
		{"flapping from the start stays unknown", 2, 2, []bool{U, D, U, D}, []Verdict{Unknown, Unknown, Unknown, Unknown}},
		{"fall after two failures", 1, 2, []bool{U, D, D}, []Verdict{Up, Up, Down}},
		{"rise after three successes", 3, 1, []bool{D, U, U, U}, []Verdict{Down, Down, Down, Up}},
		{"flapping keeps up", 2, 2, []bool{U, U, D, U, D, U, D, U, D}, []Verdict{Unknown, Up, Up, Up, Up, Up, Up, Up, Up}},
		{"flapping keeps down", 2, 2, []bool{D, D, U, D, U, D, U}, []Verdict{Unknown, Down, Down, Down, Down, Down, Down}},
		{"interrupted streak starts over", 1, 3, []bool{U, D, D, U, D, D, D}, []Verdict{Up, Up, Up, Up, Up, Up, Down}},
		{"fall 1 reacts at once", 1, 1, []bool{U, D, U}, []Verdict{Up, Down, Up}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s riseFall
			for i, up := range c.in {
				before := s.verdict
				changed := s.observe(up, c.rise, c.fall)
				if s.verdict != c.want[i] {
					t.Fatalf("after outcome %d (%v): verdict %v, want %v", i, up, s.verdict, c.want[i])
				}
				if changed != (before != s.verdict) {
					t.Fatalf("after outcome %d: changed=%v but verdict went %v -> %v", i, changed, before, s.verdict)
				}
			}
		})
	}
}

func TestRiseFallSettled(t *testing.T) {
	var s riseFall
	for i, up := range []bool{true, false, true} {
		s.observe(up, 2, 3)
		if got, want := s.settled(2, 3), i == 2; got != want {
			t.Fatalf("after %d flapping outcomes: settled %v, want %v", i+1, got, want)
		}
	}
	if s.verdict != Unknown {
		t.Fatalf("verdict %v after flapping from the start, want unknown", s.verdict)
	}
}
