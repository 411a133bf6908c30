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
		{"first success decides", 2, 2, []bool{U}, []Verdict{Up}},
		{"first failure decides", 2, 2, []bool{D}, []Verdict{Down}},
		{"fall after two failures", 2, 2, []bool{U, D, D}, []Verdict{Up, Up, Down}},
		{"rise after three successes", 3, 1, []bool{D, U, U, U}, []Verdict{Down, Down, Down, Up}},
		{"flapping keeps up", 2, 2, []bool{U, D, U, D, U, D, U, D}, []Verdict{Up, Up, Up, Up, Up, Up, Up, Up}},
		{"flapping keeps down", 2, 2, []bool{D, U, D, U, D, U}, []Verdict{Down, Down, Down, Down, Down, Down}},
		{"interrupted streak starts over", 2, 3, []bool{U, D, D, U, D, D, D}, []Verdict{Up, Up, Up, Up, Up, Up, Down}},
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
