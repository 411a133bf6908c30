package notify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/controller"
)

// AutoAuthor signs the incidents and updates detour writes itself.
const AutoAuthor = "detour (automatic)"

// autoIncidentLoop opens an incident when a record fails over, or adds
// to the automatic incident already open, and notes when traffic is
// back. Operators edit and resolve it like any other. Its cursor works
// like a channel's, so a new leader neither forgets nor repeats.
func (n *Notifier) autoIncidentLoop(ctx context.Context) {
	cursor := n.startCursor(AutoIncidentCursor)
	proposed := cursor
	for ctx.Err() == nil {
		changed := n.opts.Store.FSM().Changed()
		batch, _ := n.pending(cursor)
		for _, note := range batch {
			if note.Kind == "record" && (note.Severity == SeverityCritical || note.Severity == SeverityResolved) {
				if !n.autoIncident(ctx, note) {
					break // retried at the next change or tick
				}
			}
			cursor = note.Seq
		}
		if cursor != proposed && n.propose(ctx, AutoIncidentCursor, cursor, "") {
			proposed = cursor
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// autoIncident writes one failover or recovery into the automatic
// incident; it reports whether the write is done.
func (n *Notifier) autoIncident(ctx context.Context, note Notification) bool {
	at := note.Time.UTC().Format("15:04 MST")
	var msg string
	if note.Severity == SeverityResolved {
		msg = fmt.Sprintf("%s is served from %s again since %s; we are monitoring.", note.Service, where(&note), at)
	} else if note.FromDatacenter != "" {
		msg = fmt.Sprintf("Traffic for %s moved from %s to %s at %s; we are investigating.", note.Service, note.FromDatacenter, where(&note), at)
	} else {
		msg = fmt.Sprintf("Traffic for %s moved to %s at %s; we are investigating.", note.Service, where(&note), at)
	}
	var open *controller.Incident
	dup := false
	for _, inc := range n.opts.Store.FSM().View().Incidents() {
		if inc.Status != "open" || len(inc.Updates) == 0 || inc.Updates[0].Author != AutoAuthor {
			continue
		}
		if open == nil || inc.Opened.After(open.Opened) {
			open = inc
		}
	}
	if open != nil {
		for _, u := range open.Updates {
			dup = dup || u.Message == msg
		}
	}
	if dup {
		return true // written before a leader change; not twice
	}
	cmd := &controller.IncidentCommand{Action: controller.IncidentActionUpdate, Message: msg, Author: AutoAuthor}
	switch {
	case open != nil:
		cmd.ID = open.ID
	case note.Severity == SeverityResolved:
		return true // nothing open to tell of the recovery
	default:
		cmd.Action = controller.IncidentActionOpen
		cmd.Title = fmt.Sprintf("%s: traffic moved away from %s", note.Service, strings.TrimSpace(orDash(note.FromDatacenter)))
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := n.opts.Store.Propose(pctx, &controller.Command{Type: controller.CmdIncident, Incident: cmd}); err != nil {
		n.logger.Warn("automatic incident", "event", note.ID, "err", err)
		return false
	}
	return true
}
