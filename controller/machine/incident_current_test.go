package machine

import (
	"strings"
	"testing"
	"time"
)

// The automatic incident keeps one word per service, tied to the event
// it tells of: a later event replaces it even with a text said before,
// an older or the same event (a retry, a new leader's replay) changes
// nothing.
func TestIncidentCurrentWords(t *testing.T) {
	st := NewState()
	t0 := time.Date(2026, 12, 1, 15, 4, 0, 0, time.UTC)
	apply := func(sec int, c *IncidentCommand) error {
		c.Author = "detour (automatic)"
		_, err := st.apply(&Command{Type: CmdIncident, Time: t0.Add(time.Duration(sec) * time.Second), Incident: c})
		return err
	}
	away, back := "Website: served from us-west since ...", "Website: served from us-east again since ..."
	if err := apply(0, &IncidentCommand{Action: IncidentActionOpen, Title: "Website", Service: "Website", Message: away, Seq: 10}); err != nil {
		t.Fatal(err)
	}
	inc := st.Incidents["1"]
	if len(inc.Current) != 1 || inc.Current[0].Message != away || inc.Updates[0].Message != "" {
		t.Fatalf("opened: %+v", inc)
	}
	steps := []struct {
		seq     uint64
		msg     string
		healthy bool
		want    string
	}{
		{12, back, true, back},
		{14, away, false, away}, // the same text as before: written
		{14, back, true, away},  // a replay of event 14: nothing
		{11, back, true, away},  // an older event: nothing
	}
	for i, s := range steps {
		if err := apply(i+1, &IncidentCommand{Action: IncidentActionCurrent, ID: "1", Service: "Website", Message: s.msg, Seq: s.seq, Healthy: s.healthy}); err != nil {
			t.Fatal(err)
		}
		if len(inc.Current) != 1 || inc.Current[0].Message != s.want {
			t.Fatalf("after event %d: %+v, want one word %q", s.seq, inc.Current, s.want)
		}
	}
	if err := apply(9, &IncidentCommand{Action: IncidentActionCurrent, ID: "1", Service: "API", Message: "API: ...", Seq: 15}); err != nil {
		t.Fatal(err)
	}
	if len(inc.Current) != 2 || inc.Current[0].Service != "API" || len(inc.Updates) != 1 {
		t.Fatalf("two services: %+v, updates %d", inc.Current, len(inc.Updates))
	}
	if err := apply(10, &IncidentCommand{Action: IncidentActionCurrent, ID: "1", Message: "no service"}); err == nil || !strings.Contains(err.Error(), "needs the service") {
		t.Fatalf("a word without a service: %v", err)
	}
}
