package machine

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// ServiceNote is the automatic incident's current word on one service.
type ServiceNote struct {
	Service string    `json:"service"`
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
	// Seq is the event the word tells of; Healthy says the service is
	// back on its first choice.
	Seq     uint64 `json:"seq,omitempty"`
	Healthy bool   `json:"healthy,omitempty"`
}

// MaxIncidentServices bounds the services one incident has a word on.
const MaxIncidentServices = 100

// incidentCurrent applies an IncidentActionCurrent command.
func (st *State) incidentCurrent(c *IncidentCommand, now time.Time) error {
	inc := st.Incidents[c.ID]
	switch {
	case inc == nil:
		return fmt.Errorf("%w: %q", ErrUnknownIncident, c.ID)
	case inc.Status == "resolved":
		return fmt.Errorf("%w: incident %s; open a new one", ErrIncidentResolved, c.ID)
	case strings.TrimSpace(c.Service) == "" || strings.TrimSpace(c.Message) == "":
		return fmt.Errorf("%w: a service's current word needs the service and a message", ErrBadCommand)
	}
	if !inc.setCurrent(c, now) {
		return nil // an older or the same event: told already
	}
	st.event(now, "incident", inc.ID, fmt.Sprintf("incident %s updated by %s: %s", inc.ID, orUnknown(c.Author), c.Message))
	return nil
}

// setCurrent replaces the service's word with c's unless c tells of an
// older event than the one held; it reports whether it did.
func (inc *Incident) setCurrent(c *IncidentCommand, now time.Time) bool {
	note := ServiceNote{Service: c.Service, Message: c.Message, Time: now, Seq: c.Seq, Healthy: c.Healthy}
	i := slices.IndexFunc(inc.Current, func(n ServiceNote) bool { return n.Service == c.Service })
	switch {
	case i >= 0 && c.Seq != 0 && inc.Current[i].Seq >= c.Seq:
		return false
	case i >= 0:
		inc.Current[i] = note
	case len(inc.Current) >= MaxIncidentServices:
		return false
	default:
		inc.Current = append(inc.Current, note)
		slices.SortFunc(inc.Current, func(a, b ServiceNote) int { return strings.Compare(a.Service, b.Service) })
	}
	return true
}

// Concerns reports whether the incident has a current word on service.
func (inc *Incident) Concerns(service string) bool {
	return slices.ContainsFunc(inc.Current, func(n ServiceNote) bool { return n.Service == service })
}
