package api

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/controller"
)

// MaxETA bounds how far ahead an incident's expected resolution may be.
const MaxETA = 30 * 24 * time.Hour

// IncidentRequest is the body of POST /v1/incidents (open) and POST
// /v1/incidents/{id} (update or resolve).
type IncidentRequest struct {
	// Action is update (default) or resolve for /v1/incidents/{id};
	// opening takes none.
	Action  string `json:"action,omitempty"`
	Title   string `json:"title,omitempty"`
	Message string `json:"message,omitempty"`
	// ETA is when service is expected back: a Go duration from now
	// ("2h") or an RFC 3339 time.
	ETA      string `json:"eta,omitempty"`
	ClearETA bool   `json:"clear_eta,omitempty"`
}

// IncidentResult is the reply to an open, update or resolve.
type IncidentResult struct {
	Message  string               `json:"message"`
	Incident *controller.Incident `json:"incident,omitempty"`
}

// IncidentsResponse is GET /v1/incidents: open incidents first, then the
// resolved ones, newest first in each.
type IncidentsResponse struct {
	Incidents []*controller.Incident `json:"incidents"`
	Freshness Freshness              `json:"freshness"`
}

func (s *Server) incidents(w http.ResponseWriter, _ *http.Request) {
	out := []*controller.Incident{}
	for _, inc := range s.store.FSM().View().Incidents() {
		out = append(out, inc)
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Status == "open") != (out[j].Status == "open") {
			return out[i].Status == "open"
		}
		return incidentNumber(out[i].ID) > incidentNumber(out[j].ID)
	})
	writeJSON(w, http.StatusOK, IncidentsResponse{Incidents: out, Freshness: s.freshness()})
}

func (s *Server) openIncident(w http.ResponseWriter, r *http.Request) {
	var req IncidentRequest
	if !decode(w, r, &req) || !validIncidentText(w, req) {
		return
	}
	if strings.TrimSpace(req.Title) == "" {
		writeError(w, http.StatusBadRequest, "title is required: what customers read first (--title TEXT)")
		return
	}
	if req.Action != "" || req.ClearETA {
		writeError(w, http.StatusBadRequest, "opening takes title, message and eta; update or resolve with POST /v1/incidents/{id}")
		return
	}
	eta, ok := parseETA(w, req.ETA)
	if !ok {
		return
	}
	before := s.store.FSM().View().NextIncident()
	cmd := &controller.IncidentCommand{Action: controller.IncidentActionOpen, Title: req.Title, Message: req.Message, ETA: eta, Author: caller(r.Context()).Name}
	if !s.propose(w, r, &controller.Command{Type: controller.CmdIncident, Incident: cmd}) {
		return
	}
	// The new incident's number is the next one the local replica
	// sees with this title; wait for the replica to apply it.
	inc := s.waitIncident(r.Context(), func(inc *controller.Incident) bool {
		return incidentNumber(inc.ID) > before && inc.Title == req.Title
	})
	msg := "opened an incident: " + req.Title
	if inc != nil {
		msg = fmt.Sprintf("opened incident %s: %s", inc.ID, inc.Title)
	}
	writeJSON(w, http.StatusOK, IncidentResult{Message: msg, Incident: inc})
}

func (s *Server) changeIncident(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req IncidentRequest
	if !decode(w, r, &req) || !validIncidentText(w, req) {
		return
	}
	if req.Title != "" {
		writeError(w, http.StatusBadRequest, "an incident's title is set when it opens; say what changed in the message")
		return
	}
	action := req.Action
	switch action {
	case "", controller.IncidentActionUpdate:
		action = controller.IncidentActionUpdate
		if strings.TrimSpace(req.Message) == "" && req.ETA == "" && !req.ClearETA {
			writeError(w, http.StatusBadRequest, "an update needs a message (--message TEXT) or an ETA (--eta 2h)")
			return
		}
	case controller.IncidentActionResolve:
	default:
		writeError(w, http.StatusBadRequest, "action %q: want update or resolve", req.Action)
		return
	}
	eta, ok := parseETA(w, req.ETA)
	if !ok {
		return
	}
	updates := 0
	status := ""
	if inc, ok := s.store.FSM().View().Incident(id); ok {
		updates, status = len(inc.Updates), inc.Status
	}
	switch status {
	case "":
		writeError(w, http.StatusNotFound, "no incident %q (see `detour incident list`)", id)
		return
	case "resolved":
		writeError(w, http.StatusConflict, "incident %s is already resolved; open a new one", id)
		return
	}
	cmd := &controller.IncidentCommand{Action: action, ID: id, Message: req.Message, ETA: eta, ClearETA: req.ClearETA, Author: caller(r.Context()).Name}
	if !s.propose(w, r, &controller.Command{Type: controller.CmdIncident, Incident: cmd}) {
		return
	}
	inc := s.waitIncident(r.Context(), func(inc *controller.Incident) bool { return inc.ID == id && len(inc.Updates) > updates })
	verb := map[string]string{controller.IncidentActionUpdate: "updated", controller.IncidentActionResolve: "resolved"}[action]
	writeJSON(w, http.StatusOK, IncidentResult{Message: fmt.Sprintf("%s incident %s", verb, id), Incident: inc})
}

// waitIncident waits briefly for the local replica to hold an incident
// matching ok (a write forwarded to the leader may be applied here a
// moment later) and returns a copy, or nil.
func (s *Server) waitIncident(ctx context.Context, ok func(*controller.Incident) bool) *controller.Incident {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for {
		view := s.store.FSM().View()
		changed := view.Changed()
		var found *controller.Incident
		for _, inc := range view.Incidents() {
			if ok(inc) {
				found = inc
			}
		}
		if found != nil {
			return found
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
	}
}

// parseETA reads a duration from now ("2h") or an RFC 3339 time; empty
// means none.
func parseETA(w http.ResponseWriter, v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, true
	}
	now := time.Now()
	var eta time.Time
	if d, err := time.ParseDuration(v); err == nil {
		eta = now.Add(d)
	} else if t, err := time.Parse(time.RFC3339, v); err == nil {
		eta = t
	} else {
		writeError(w, http.StatusBadRequest, "eta=%q: want a duration from now (2h, 45m) or an RFC 3339 time (2025-06-01T15:00:00Z)", v)
		return time.Time{}, false
	}
	if !eta.After(now) || eta.Sub(now) > MaxETA {
		writeError(w, http.StatusBadRequest, "eta=%q: the expected resolution must be in the future and within %s", v, MaxETA)
		return time.Time{}, false
	}
	return eta.UTC().Truncate(time.Second), true
}

func incidentNumber(id string) uint64 {
	n, _ := strconv.ParseUint(id, 10, 64)
	return n
}
