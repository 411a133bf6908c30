package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/spec"
)

// AutoAuthor signs the incidents and updates detour writes itself.
const AutoAuthor = "detour (automatic)"

// autoTick is how often the writer looks whether the automatic incident
// has been healthy long enough to resolve.
const autoTick = time.Second

// timeText is how the automatic incident writes a time: with its date,
// so that an incident open for days never reads ambiguously.
const timeText = "2006-01-02 15:04 MST"

// autoIncidentLoop keeps the automatic incident: it opens one when a
// service shown on the status page fails over, then keeps one current
// word per service in it (replaced, not appended, when the service's
// state changes), and resolves it after status_page.auto_resolve of
// health when that is set. Operators edit and resolve it like any
// other. Its cursor works like a channel's, so a new leader neither
// forgets nor repeats.
func (n *Notifier) autoIncidentLoop(ctx context.Context) {
	cursor := n.startCursor(AutoIncidentCursor)
	proposed := cursor
	tick := time.NewTicker(autoTick)
	defer tick.Stop()
	for ctx.Err() == nil {
		changed := n.opts.Store.FSM().Changed()
		batch, _ := n.pending(cursor)
		for _, note := range batch {
			if !n.autoIncident(ctx, note) {
				break // retried at the next change or tick
			}
			cursor = note.Seq
		}
		if cursor != proposed && n.propose(ctx, AutoIncidentCursor, cursor, "") {
			proposed = cursor
		}
		n.autoResolve(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-tick.C:
		}
	}
}

// autoView is what the writer reads of the state for one event.
type autoView struct {
	spec  *spec.Spec
	shown bool                 // the record is on the status page
	open  *controller.Incident // the newest open automatic incident, a copy
	quiet bool                 // start-up or a planned drain: no outage
}

// autoIncident writes one move of a record into the automatic incident;
// it reports whether the write is done (or not needed). A failover of a
// service on the status page opens the incident or adds the service to
// it; once the incident concerns a service, every move of it (a
// recovery, a pin, a drain) replaces its word, so the incident agrees
// with the services table.
func (n *Notifier) autoIncident(ctx context.Context, note Notification) bool {
	if note.Kind != "record" {
		return true
	}
	view := n.opts.Store.FSM().View()
	v := autoView{spec: view.Spec()}
	v.shown = onStatusPage(v.spec, note.Record, note.RecordType)
	v.open = openAutoIncident(view)
	v.quiet = startUp(view, note) || plannedDrain(view, note)
	if !v.shown {
		return true // a record the page does not show stays private
	}
	healthy := onFirstChoice(v.spec, note)
	cmd := &controller.IncidentCommand{Action: controller.IncidentActionCurrent, Service: note.Service,
		Message: currentWord(v.spec, note, healthy), Seq: note.Seq, Healthy: healthy, Author: AutoAuthor}
	switch {
	case v.open != nil && v.open.Concerns(note.Service):
		cmd.ID = v.open.ID
	case healthy || v.quiet || note.Severity != SeverityCritical:
		return true // no outage to tell of
	case v.open != nil:
		cmd.ID = v.open.ID
	default:
		cmd.Action = controller.IncidentActionOpen
		cmd.Title = fmt.Sprintf("%s: traffic moved away from %s", note.Service, orDash(firstDC(v.spec, note.Record, note.RecordType)))
	}
	return n.proposeIncident(ctx, cmd, note.ID)
}

func (n *Notifier) proposeIncident(ctx context.Context, cmd *controller.IncidentCommand, event string) bool {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := n.opts.Store.Propose(pctx, &controller.Command{Type: controller.CmdIncident, Incident: cmd}); err != nil {
		n.logger.Warn("automatic incident", "event", event, "action", cmd.Action, "err", err)
		return false
	}
	return true
}

// currentWord is the automatic incident's word on a service, in the
// words of the status page's services table, with a dated time.
func currentWord(s *spec.Spec, note Notification, healthy bool) string {
	at := note.Time.UTC().Format(timeText)
	switch {
	case healthy:
		return fmt.Sprintf("%s: served from %s again since %s; we are monitoring.", note.Service, where(&note), at)
	case note.Fallback || note.Pool == "":
		return fmt.Sprintf("%s: no datacenter can serve it since %s; we are investigating.", note.Service, at)
	}
	from := firstDC(s, note.Record, note.RecordType)
	if from == "" || from == note.Datacenter {
		return fmt.Sprintf("%s: served from %s since %s; we are investigating.", note.Service, where(&note), at)
	}
	return fmt.Sprintf("%s: served from %s since %s (moved away from %s); we are investigating.", note.Service, where(&note), at, from)
}

// openAutoIncident returns a copy of the newest open automatic incident.
func openAutoIncident(view *controller.View) *controller.Incident {
	var open *controller.Incident
	for _, inc := range view.Incidents() {
		if inc.Status != "open" || !IsAutomatic(inc) {
			continue
		}
		if open == nil || inc.Opened.After(open.Opened) {
			open = inc
		}
	}
	if open == nil {
		return nil
	}
	c := *open
	c.Current = append([]controller.ServiceNote(nil), open.Current...)
	return &c
}

// IsAutomatic reports whether detour opened the incident itself.
func IsAutomatic(inc *controller.Incident) bool {
	return len(inc.Updates) > 0 && inc.Updates[0].Author == AutoAuthor
}

// autoResolve resolves the automatic incident once every service it
// concerns has been healthy for status_page.auto_resolve (now is the
// leader's clock, which stamped the words).
func (n *Notifier) autoResolve(ctx context.Context, now time.Time) {
	var (
		after time.Duration
		open  *controller.Incident
	)
	view := n.opts.Store.FSM().View()
	if s := view.Spec(); s != nil && s.StatusPage != nil {
		after = s.StatusPage.AutoResolve.D()
	}
	open = openAutoIncident(view)
	if after <= 0 || open == nil {
		return
	}
	since, ok := healthySince(open)
	if !ok || now.Sub(since) < after {
		return
	}
	// Customers read it: the auto_resolve setting is no news to them.
	msg := fmt.Sprintf("Resolved automatically: every service has been served normally since %s.", since.UTC().Format(timeText))
	n.proposeIncident(ctx, &controller.IncidentCommand{Action: controller.IncidentActionResolve, ID: open.ID, Message: msg, Author: AutoAuthor}, "auto-resolve")
}

// healthySince is when the last of the incident's services came back;
// false while one is still away or the incident has no word on any.
func healthySince(inc *controller.Incident) (time.Time, bool) {
	var since time.Time
	for _, c := range inc.Current {
		if !c.Healthy {
			return time.Time{}, false
		}
		if c.Time.After(since) {
			since = c.Time
		}
	}
	return since, len(inc.Current) > 0
}
