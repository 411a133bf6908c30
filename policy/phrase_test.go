package policy

import "testing"

// An answer in one phrase, as the event log and the API's refusals say it.
func TestPhrase(t *testing.T) {
	for _, c := range []struct {
		d    Decision
		want string
	}{
		{Decision{Answers: []string{"192.0.2.10", "192.0.2.11"}, Pool: "web-us-east"}, "192.0.2.10, 192.0.2.11 (pool web-us-east)"},
		{Decision{Answers: []string{"192.0.2.99"}, Fallback: true}, "192.0.2.99 (fallback)"},
		{Decision{}, "no data"},
		{Decision{Answers: []string{"www.example.net."}}, "www.example.net."},
	} {
		if got := c.d.Phrase(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.d, got, c.want)
		}
	}
}
