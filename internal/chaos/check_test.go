package chaos

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func answer(addrs ...string) DNSAnswer { return DNSAnswer{OK: true, Addrs: addrs} }

// Each invariant of the timeline fires on a sample that breaks it, and
// not on the samples around it that keep it.
func TestCheckTimelineCatches(t *testing.T) {
	t0 := time.Now()
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	w := NewWorld(3, t0)
	w.changeAt(w.site, 0, 0, at(time.Second))      // dc1's site dies at 1 s
	w.changeAt(w.cutIn, 2, 1, at(20*time.Second))  // n3 cut off at 20 s
	w.changeAt(w.cutOut, 2, 1, at(20*time.Second)) //
	c := &Cluster{Nodes: []*Node{{ID: "n1", Mode: "local"}, {ID: "n2", Mode: "local"}, {ID: "n3", Mode: "servfail"}}}
	right := answer(Answer(1))
	cutLong := at(20*time.Second + minorityAfter + 3*time.Second)
	samples := []Sample{
		// Within the bound: fine.
		{Round: 1, T: at(time.Second + Bound - 100*time.Millisecond), Node: 0, WWW: answer(Answer(0)), App: right},
		// Past it: invariant 1.
		{Round: 2, T: at(time.Second + Bound + 500*time.Millisecond), Node: 1, WWW: answer(Answer(0)), App: right},
		// The fallback while dc2 has been up all along: invariant 2.
		{Round: 3, T: at(10 * time.Second), Node: 0, WWW: answer(Fallback), App: right},
		// Quiet since 1 s, yet n1 and n2 differ: invariant 3.
		{Round: 4, T: at(12 * time.Second), Node: 0, WWW: right, App: right},
		{Round: 4, T: at(12 * time.Second), Node: 1, WWW: right, App: answer(Answer(2))},
		// n3 cut off for minority_after + 3 s, ready and answering:
		// invariant 4 twice.
		{Round: 5, T: cutLong, Node: 2, WWW: right, App: right, Ready: http.StatusOK},
		{Round: 6, T: cutLong.Add(100 * time.Millisecond), Node: 2, WWW: right, App: right, Ready: http.StatusOK},
		// Cut off and saying so, in its mode: fine.
		{Round: 7, T: cutLong.Add(time.Second), Node: 2, WWW: DNSAnswer{OK: true, Rcode: dns.RcodeServerFailure}, Ready: http.StatusServiceUnavailable, Why: "cut off: no leader for 8s"},
	}
	got := checkTimeline(w, c, samples, t0)
	want := map[int]int{1: 1, 2: 1, 3: 1, 4: 1} // invariant 4 twice, one episode
	have := map[int]int{}
	for _, v := range got {
		have[v.Invariant]++
	}
	for inv, n := range want {
		if have[inv] != n {
			t.Errorf("invariant %d: %d violations, want %d", inv, have[inv], n)
		}
	}
	if len(got) != 4 || !strings.Contains(got[len(got)-1].What, "(4 samples over 100ms)") {
		var s []string
		for _, v := range got {
			s = append(s, v.String())
		}
		t.Errorf("violations:\n%s", strings.Join(s, "\n"))
	}
}
