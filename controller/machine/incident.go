package machine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Incident actions.
const (
	IncidentActionOpen    = "open"
	IncidentActionUpdate  = "update"
	IncidentActionResolve = "resolve"
	// IncidentActionCurrent sets the automatic incident's current word
	// on one service (Service, Message, Seq, Healthy): it replaces the
	// service's earlier word instead of adding an update.
	IncidentActionCurrent = "current"
)

// IncidentCommand opens, updates or resolves an incident.
type IncidentCommand struct {
	Action  string `json:"action"`
	ID      string `json:"id,omitempty"` // for update and resolve
	Title   string `json:"title,omitempty"`
	Message string `json:"message,omitempty"`
	// ETA is when service is expected back; zero leaves it unchanged
	// (ClearETA removes it).
	ETA      time.Time `json:"eta,omitzero"`
	ClearETA bool      `json:"clear_eta,omitempty"`
	Author   string    `json:"author,omitempty"`
	// Service, Seq and Healthy are for the automatic incident's words
	// (action current, or open with a service): the service told of,
	// the event told of (a word about an older event than the one held
	// changes nothing, so a retry or a new leader's replay is harmless),
	// and whether the service is back on its first choice.
	Service string `json:"service,omitempty"`
	Seq     uint64 `json:"seq,omitempty"`
	Healthy bool   `json:"healthy,omitempty"`
}

// Incident is what customers are told: a title, updates, an expected
// resolution time.
type Incident struct {
	ID       string           `json:"id"`
	Title    string           `json:"title"`
	Status   string           `json:"status"` // open, resolved
	ETA      time.Time        `json:"eta,omitzero"`
	Opened   time.Time        `json:"opened"`
	Resolved time.Time        `json:"resolved,omitzero"`
	Updates  []IncidentUpdate `json:"updates"`
	// Current is the automatic incident's word on each service it
	// concerns, by service name: one current message per service,
	// replaced when the service's state changes.
	Current []ServiceNote `json:"current,omitempty"`
}

// IncidentUpdate is one message of an incident, newest last.
type IncidentUpdate struct {
	Time    time.Time `json:"time"`
	Status  string    `json:"status"`
	Message string    `json:"message"`
	Author  string    `json:"author,omitempty"`
}

// NotifyCursor records what the leader delivered on one channel: every
// event up to Seq. A new leader resumes after it, so receivers see each
// event at least once and dedupe by its seq.
type NotifyCursor struct {
	Channel string    `json:"channel"`
	Seq     uint64    `json:"seq"`
	Error   string    `json:"error,omitempty"` // last delivery error, "" once delivered
	At      time.Time `json:"at,omitzero"`
	// Drop, in a command, says the event before Seq was given up on: the
	// receiver refused it for what it is, again and again. The state
	// counts drops and keeps the last one's words until an operator has
	// seen them in status.
	Drop        string `json:"drop,omitempty"`
	Dropped     uint64 `json:"dropped,omitempty"`
	LastDropped string `json:"last_dropped,omitempty"`
}

// Incident errors.
var (
	// ErrUnknownIncident means no incident has that ID.
	ErrUnknownIncident = errors.New("no such incident")
	// ErrIncidentResolved means the incident is closed: open a new one.
	ErrIncidentResolved = errors.New("incident already resolved")
	// ErrIncidentLimit means the incident, or the incidents, are at
	// their bound: the command is refused, nothing changes.
	ErrIncidentLimit = errors.New("incident limit reached")
)

// Incident bounds, checked where commands apply, so every path (the
// API, a command forwarded over the node port) is held to them and the
// replicated state stays bounded.
const (
	// MaxIncidentTitle bounds an incident's title, in characters.
	MaxIncidentTitle = 200
	// MaxIncidentMessage bounds one message of an incident, in bytes.
	MaxIncidentMessage = 4 << 10
	// MaxOpenIncidents bounds the incidents open at once.
	MaxOpenIncidents = 50
	// MaxIncidentUpdates bounds the messages of one incident, the
	// opening one included; resolving is always allowed, one past it.
	MaxIncidentUpdates = 100
	// MaxResolvedIncidents bounds the resolved incidents kept: resolving
	// one more drops the oldest.
	MaxResolvedIncidents = 100
)

// checkIncidentText refuses a title or message over its bound.
func checkIncidentText(c *IncidentCommand) error {
	switch {
	case !utf8.ValidString(c.Title) || !utf8.ValidString(c.Message):
		return fmt.Errorf("%w: an incident's title and message must be UTF-8", ErrBadCommand)
	case utf8.RuneCountInString(c.Title) > MaxIncidentTitle:
		return fmt.Errorf("%w: the title is %d characters, at most %d", ErrBadCommand, utf8.RuneCountInString(c.Title), MaxIncidentTitle)
	case len(c.Message) > MaxIncidentMessage:
		return fmt.Errorf("%w: the message is %d bytes, at most %d", ErrBadCommand, len(c.Message), MaxIncidentMessage)
	}
	return nil
}

// openIncidents counts the incidents not resolved.
func (st *State) openIncidents() int {
	n := 0
	for _, inc := range st.Incidents {
		if inc.Status != "resolved" {
			n++
		}
	}
	return n
}

// pruneResolved drops the oldest resolved incidents (resolved first,
// then lowest number) past MaxResolvedIncidents.
func (st *State) pruneResolved() {
	for {
		var resolved []*Incident
		for _, inc := range st.Incidents {
			if inc.Status == "resolved" {
				resolved = append(resolved, inc)
			}
		}
		if len(resolved) <= MaxResolvedIncidents {
			return
		}
		oldest := resolved[0]
		for _, inc := range resolved[1:] {
			if inc.Resolved.Before(oldest.Resolved) || (inc.Resolved.Equal(oldest.Resolved) && incidentNumber(inc.ID) < incidentNumber(oldest.ID)) {
				oldest = inc
			}
		}
		delete(st.Incidents, oldest.ID)
	}
}

func incidentNumber(id string) uint64 {
	n, _ := strconv.ParseUint(id, 10, 64)
	return n
}

// incident applies an incident command and returns the incident's ID.
func (st *State) incident(c *IncidentCommand, now time.Time) (string, error) {
	if c == nil {
		return "", fmt.Errorf("%w: incident command missing", ErrBadCommand)
	}
	if st.Incidents == nil {
		st.Incidents = map[string]*Incident{}
	}
	if err := checkIncidentText(c); err != nil {
		return "", err
	}
	id := c.ID
	switch c.Action {
	case IncidentActionOpen:
		if strings.TrimSpace(c.Title) == "" {
			return "", fmt.Errorf("%w: an incident needs a title", ErrBadCommand)
		}
		if n := st.openIncidents(); n >= MaxOpenIncidents {
			return "", fmt.Errorf("%w: %d incidents are open, at most %d; resolve one first", ErrIncidentLimit, n, MaxOpenIncidents)
		}
		st.NextIncident++
		inc := &Incident{ID: strconv.FormatUint(st.NextIncident, 10), Title: c.Title, Status: "open", ETA: c.ETA.UTC(), Opened: now}
		inc.Updates = append(inc.Updates, IncidentUpdate{Time: now, Status: "open", Message: c.Message, Author: c.Author})
		st.Incidents[inc.ID] = inc
		id = inc.ID
		if c.Service != "" {
			inc.Updates[0].Message = ""
			inc.setCurrent(c, now)
		}
		st.event(now, "incident", inc.ID, fmt.Sprintf("incident %s opened by %s: %s%s", inc.ID, orUnknown(c.Author), inc.Title, etaText(inc.ETA)))
	case IncidentActionCurrent:
		return c.ID, st.incidentCurrent(c, now)
	case IncidentActionUpdate, IncidentActionResolve:
		inc := st.Incidents[c.ID]
		if inc == nil {
			return "", fmt.Errorf("%w: %q", ErrUnknownIncident, c.ID)
		}
		if inc.Status == "resolved" {
			return "", fmt.Errorf("%w: incident %s; open a new one", ErrIncidentResolved, c.ID)
		}
		if c.Action == IncidentActionUpdate && strings.TrimSpace(c.Message) == "" && c.ETA.IsZero() && !c.ClearETA {
			return "", fmt.Errorf("%w: an update needs a message or an ETA", ErrBadCommand)
		}
		if c.Action == IncidentActionUpdate && len(inc.Updates) >= MaxIncidentUpdates {
			return "", fmt.Errorf("%w: incident %s has %d messages, at most %d; resolve it and open a new one", ErrIncidentLimit, c.ID, len(inc.Updates), MaxIncidentUpdates)
		}
		if !c.ETA.IsZero() {
			inc.ETA = c.ETA.UTC()
		}
		if c.ClearETA {
			inc.ETA = time.Time{}
		}
		status := "update"
		if c.Action == IncidentActionResolve {
			inc.Status, inc.Resolved, inc.ETA, status = "resolved", now, time.Time{}, "resolved"
		}
		inc.Updates = append(inc.Updates, IncidentUpdate{Time: now, Status: status, Message: c.Message, Author: c.Author})
		verb := map[string]string{IncidentActionUpdate: "updated", IncidentActionResolve: "resolved"}[c.Action]
		msg := fmt.Sprintf("incident %s %s by %s", inc.ID, verb, orUnknown(c.Author))
		if c.Message != "" {
			msg += ": " + c.Message
		}
		st.event(now, "incident", inc.ID, msg+etaText(inc.ETA))
		if c.Action == IncidentActionResolve {
			st.pruneResolved()
		}
	default:
		return "", fmt.Errorf("%w: incident action %q (open, update, resolve, current)", ErrBadCommand, c.Action)
	}
	return id, nil
}

func (st *State) notifyCursor(c *NotifyCursor, now time.Time) error {
	if c == nil || c.Channel == "" {
		return fmt.Errorf("%w: cursor without a channel", ErrBadCommand)
	}
	if st.Cursors == nil {
		st.Cursors = map[string]*NotifyCursor{}
	}
	cur := st.Cursors[c.Channel]
	if cur == nil {
		cur = &NotifyCursor{Channel: c.Channel}
		st.Cursors[c.Channel] = cur
	}
	// Cursors only move forward, whatever order proposals arrive in.
	if c.Seq > cur.Seq {
		cur.Seq = c.Seq
	}
	cur.Error, cur.At = c.Error, now
	if c.Drop != "" {
		cur.Dropped++
		cur.LastDropped = now.UTC().Format(time.RFC3339) + " " + c.Drop
	}
	return nil
}

func etaText(eta time.Time) string {
	if eta.IsZero() {
		return ""
	}
	return " (expected back " + eta.UTC().Format("2006-01-02 15:04 MST") + ")"
}
