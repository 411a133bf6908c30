package controller

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Incident actions.
const (
	IncidentActionOpen    = "open"
	IncidentActionUpdate  = "update"
	IncidentActionResolve = "resolve"
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
)

func (st *State) incident(c *IncidentCommand, now time.Time) error {
	if c == nil {
		return fmt.Errorf("%w: incident command missing", ErrBadCommand)
	}
	if st.Incidents == nil {
		st.Incidents = map[string]*Incident{}
	}
	switch c.Action {
	case IncidentActionOpen:
		if strings.TrimSpace(c.Title) == "" {
			return fmt.Errorf("%w: an incident needs a title", ErrBadCommand)
		}
		st.NextIncident++
		inc := &Incident{ID: strconv.FormatUint(st.NextIncident, 10), Title: c.Title, Status: "open", ETA: c.ETA.UTC(), Opened: now}
		inc.Updates = append(inc.Updates, IncidentUpdate{Time: now, Status: "open", Message: c.Message, Author: c.Author})
		st.Incidents[inc.ID] = inc
		st.event(now, "incident", inc.ID, fmt.Sprintf("incident %s opened by %s: %s%s", inc.ID, orUnknown(c.Author), inc.Title, etaText(inc.ETA)))
	case IncidentActionUpdate, IncidentActionResolve:
		inc := st.Incidents[c.ID]
		if inc == nil {
			return fmt.Errorf("%w: %q", ErrUnknownIncident, c.ID)
		}
		if inc.Status == "resolved" {
			return fmt.Errorf("%w: incident %s; open a new one", ErrIncidentResolved, c.ID)
		}
		if c.Action == IncidentActionUpdate && strings.TrimSpace(c.Message) == "" && c.ETA.IsZero() && !c.ClearETA {
			return fmt.Errorf("%w: an update needs a message or an ETA", ErrBadCommand)
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
	default:
		return fmt.Errorf("%w: incident action %q (open, update, resolve)", ErrBadCommand, c.Action)
	}
	return nil
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
