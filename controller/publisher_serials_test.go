package controller

import (
	"log/slog"
	"testing"
)

// Seed 1 of the chaos suite (partition n3, kill -9 dc2 holding the
// leader, SIGSTOP leader n3): after the heal n3 applied every entry the
// others had, yet served the SOA serial of before its pause for good.
// While it was frozen the cluster moved an answer and moved it back,
// raising the zone's serial twice; n3 applied those entries in a burst,
// its publisher built only the last view (a later view replaces one not
// yet built), found the same decisions as the answers it had, and kept
// them with their old serial. A view whose serials differ from the
// answers' is built, whatever its decisions.
func TestPublisherFollowsSerialsAcrossSkippedViews(t *testing.T) {
	r := newSerialRig(t)
	r.spec(serialSpec(`txt 300 IN TXT "v1"`, 80))
	r.report(map[string]bool{"a/192.0.2.1": true, "b/192.0.2.2": true, "c/198.51.100.1": true, "c/198.51.100.2": true})
	before := r.f.View()
	r.report(map[string]bool{"a/192.0.2.1": false}) // www.example.test moves to b
	r.report(map[string]bool{"a/192.0.2.1": true})  // and back to a
	after := r.f.View()
	const zone = "example.test."
	if before.Serials()[zone] == after.Serials()[zone] {
		t.Fatalf("setup: the serial of %s did not move (%d)", zone, before.Serials()[zone])
	}

	p := startPublisher(slog.New(slog.DiscardHandler), func(_ *View, err error) { t.Errorf("publish: %v", err) })
	defer p.close()
	p.publish(&pubWork{view: before})
	if got := p.answers().Serial(zone); got != before.Serials()[zone] {
		t.Fatalf("first view: serial %d, want %d", got, before.Serials()[zone])
	}
	p.publish(&pubWork{view: after}) // the view in between was never built
	if got, want := p.answers().Serial(zone), after.Serials()[zone]; got != want {
		t.Errorf("after a skipped view: the answers serve serial %d, the state says %d", got, want)
	}
}
