package spec

import (
	"strings"
	"testing"
	"time"
)

func TestFailbackSettings(t *testing.T) {
	cases := []struct {
		name, record, want string // want: substring of the problem, "" valid
	}{
		{"hold-down", "failback_after: 5m", ""},
		{"manual", "failback: manual", ""},
		{"auto with hold-down", "failback: auto, failback_after: 2s", ""},
		{"unknown mode", "failback: later", `records[0].failback: "later" (choices: auto, manual)`},
		{"negative", "failback_after: -1s", "records[0].failback_after: -1s is negative"},
		{"not for weighted", "policy: weighted, failback_after: 1m", "applies to the failover policy only, not weighted"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := checkDoc("    type: http") + "records:\n  - {name: www.example.test, type: A, pools: [p], " + c.record + "}\n"
			s, err := Parse([]byte(doc))
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want %q", err, c.want)
			case c.want == "" && !s.Records[0].HoldsFailback():
				t.Fatalf("record %+v does not hold failback", s.Records[0])
			}
		})
	}
	s, err := Parse([]byte(checkDoc("    type: http") + "records:\n  - {name: www.example.test, type: A, pools: [p], failback_after: 2s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Records[0].FailbackAfter.D() != 2*time.Second {
		t.Fatalf("failback_after %s, want 2s", s.Records[0].FailbackAfter)
	}
	out, err := s.Marshal()
	if err != nil || !strings.Contains(string(out), "failback_after: 2s") {
		t.Fatalf("marshalled %s (%v), want failback_after kept", out, err)
	}
}
