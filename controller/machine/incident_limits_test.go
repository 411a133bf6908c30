package machine

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestIncidentBounds replays the incident growth of issue 11 on the state
// machine: each bound refuses the command past it, whatever path the
// command came by, and leaves the state as it was.
func TestIncidentBounds(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC)
	open := func(title, msg string) *IncidentCommand {
		return &IncidentCommand{Action: IncidentActionOpen, Title: title, Message: msg}
	}
	update := func(id, msg string) *IncidentCommand {
		return &IncidentCommand{Action: IncidentActionUpdate, ID: id, Message: msg}
	}
	tests := []struct {
		name string
		// setup runs before the command; each returns nil.
		setup []*IncidentCommand
		cmd   *IncidentCommand
		want  error // nil: accepted
	}{
		{name: "title at the bound", cmd: open(strings.Repeat("é", MaxIncidentTitle), "m")},
		{name: "title over the bound", cmd: open(strings.Repeat("é", MaxIncidentTitle+1), "m"), want: ErrBadCommand},
		{name: "message at the bound", cmd: open("t", strings.Repeat("x", MaxIncidentMessage))},
		{name: "message over the bound", cmd: open("t", strings.Repeat("x", MaxIncidentMessage+1)), want: ErrBadCommand},
		{name: "update over the bound", setup: []*IncidentCommand{open("t", "m")}, cmd: update("1", strings.Repeat("x", MaxIncidentMessage+1)), want: ErrBadCommand},
		{name: "not UTF-8", cmd: open("t\xff", "m"), want: ErrBadCommand},
		{name: "last open incident", setup: repeat(MaxOpenIncidents-1, func(i int) *IncidentCommand { return open(fmt.Sprint(i), "m") }), cmd: open("t", "m")},
		{name: "one open incident too many", setup: repeat(MaxOpenIncidents, func(i int) *IncidentCommand { return open(fmt.Sprint(i), "m") }), cmd: open("t", "m"), want: ErrIncidentLimit},
		{name: "last update", setup: append([]*IncidentCommand{open("t", "m")}, repeat(MaxIncidentUpdates-2, func(int) *IncidentCommand { return update("1", "u") })...), cmd: update("1", "u")},
		{name: "one update too many", setup: append([]*IncidentCommand{open("t", "m")}, repeat(MaxIncidentUpdates-1, func(int) *IncidentCommand { return update("1", "u") })...), cmd: update("1", "u"), want: ErrIncidentLimit},
		{name: "resolve past the updates bound", setup: append([]*IncidentCommand{open("t", "m")}, repeat(MaxIncidentUpdates-1, func(int) *IncidentCommand { return update("1", "u") })...), cmd: &IncidentCommand{Action: IncidentActionResolve, ID: "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := NewState()
			for i, c := range tt.setup {
				if _, err := st.apply(&Command{Type: CmdIncident, Time: t0.Add(time.Duration(i) * time.Second), Incident: c}); err != nil {
					t.Fatalf("setup %d: %v", i, err)
				}
			}
			before := incidentSizes(st)
			_, err := st.apply(&Command{Type: CmdIncident, Time: t0.Add(time.Hour), Incident: tt.cmd})
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("got %v, want %v", err, tt.want)
			case tt.want != nil && incidentSizes(st) != before:
				t.Errorf("a refused command changed the incidents: %s -> %s", before, incidentSizes(st))
			}
		})
	}
}

// TestResolvedIncidentsKept opens and resolves more incidents than kept:
// the oldest resolved ones are dropped, open ones never.
func TestResolvedIncidentsKept(t *testing.T) {
	st := NewState()
	t0 := time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC)
	apply := func(i int, c *IncidentCommand) {
		t.Helper()
		if _, err := st.apply(&Command{Type: CmdIncident, Time: t0.Add(time.Duration(i) * time.Second), Incident: c}); err != nil {
			t.Fatal(err)
		}
	}
	apply(0, &IncidentCommand{Action: IncidentActionOpen, Title: "long-running"})
	const total = MaxResolvedIncidents + 30
	for i := 1; i <= total; i++ {
		apply(2*i, &IncidentCommand{Action: IncidentActionOpen, Title: fmt.Sprint(i)})
		apply(2*i+1, &IncidentCommand{Action: IncidentActionResolve, ID: fmt.Sprint(i + 1)})
	}
	if got := len(st.Incidents); got != MaxResolvedIncidents+1 {
		t.Fatalf("%d incidents kept, want %d resolved and the open one", got, MaxResolvedIncidents)
	}
	if st.Incidents["1"] == nil || st.Incidents["1"].Status != "open" {
		t.Error("the open incident was dropped")
	}
	for i := 2; i <= total+1; i++ {
		kept := st.Incidents[fmt.Sprint(i)] != nil
		if want := i > total+1-MaxResolvedIncidents; kept != want {
			t.Errorf("incident %d kept=%v, want %v (the newest %d resolved are kept)", i, kept, want, MaxResolvedIncidents)
		}
	}
}

func repeat(n int, f func(int) *IncidentCommand) []*IncidentCommand {
	out := make([]*IncidentCommand, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// incidentSizes summarises the incidents: their count and messages.
func incidentSizes(st *State) string {
	n := 0
	for _, inc := range st.Incidents {
		n += len(inc.Updates)
	}
	return fmt.Sprintf("%d incidents, %d messages, next %d", len(st.Incidents), n, st.NextIncident)
}
