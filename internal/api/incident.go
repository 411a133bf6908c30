package api

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/api/wire"
)

// MaxETA bounds how far ahead an incident's expected resolution may be.
const MaxETA = 30 * 24 * time.Hour

func (s *Server) incidents(w http.ResponseWriter, _ *http.Request) {
	out := []*wire.Incident{}
	view := s.store.FSM().View()
	index := view.Index()
	for _, inc := range view.Incidents() {
		w := wireIncident(*inc)
		out = append(out, &w)
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Status == "open") != (out[j].Status == "open") {
			return out[i].Status == "open"
		}
		return incidentNumber(out[i].ID) > incidentNumber(out[j].ID)
	})
	writeJSON(w, http.StatusOK, IncidentsResponse{Incidents: out, Index: index, Freshness: s.freshness()})
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
	cmd := &controller.IncidentCommand{Action: controller.IncidentActionOpen, Title: req.Title, Message: req.Message, ETA: eta, Author: caller(r.Context()).Name}
	res, err := s.commit(r, &controller.Command{Type: controller.CmdIncident, Incident: cmd})
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	msg := "opened an incident: " + req.Title // a leader of an older version does not say which
	if res.Incident != "" {
		msg = fmt.Sprintf("opened incident %s: %s", res.Incident, req.Title)
	}
	s.incidentDone(w, msg, res)
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
	// Whether the incident exists and is open is the cluster's to say,
	// where the change applies: this node may not have it yet.
	cmd := &controller.IncidentCommand{Action: action, ID: id, Message: req.Message, ETA: eta, ClearETA: req.ClearETA, Author: caller(r.Context()).Name}
	res, err := s.commit(r, &controller.Command{Type: controller.CmdIncident, Incident: cmd})
	switch {
	case errors.Is(err, controller.ErrUnknownIncident):
		writeError(w, http.StatusNotFound, "no incident %q (see `detour incident list`)", id)
		return
	case errors.Is(err, controller.ErrIncidentResolved):
		writeError(w, http.StatusConflict, "incident %s is already resolved; open a new one", id)
		return
	case err != nil:
		s.writeStoreError(w, err)
		return
	}
	if res.Incident == "" {
		res.Incident = id
	}
	verb := map[string]string{controller.IncidentActionUpdate: "updated", controller.IncidentActionResolve: "resolved"}[action]
	s.incidentDone(w, fmt.Sprintf("%s incident %s", verb, id), res)
}

// incidentDone replies to an incident change with the incident as this
// node holds it, read together with the index of the state it is in.
func (s *Server) incidentDone(w http.ResponseWriter, msg string, res controller.Result) {
	out := IncidentResult{ID: res.Incident, WriteIndex: res.Index}
	view := s.store.FSM().View()
	out.Index = view.Index()
	if inc, ok := view.Incident(res.Incident); ok && res.Incident != "" {
		w := wireIncident(inc)
		out.Incident = &w
	}
	out.Message = msg + behind(out.Index, res.Index)
	writeJSON(w, http.StatusOK, out)
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
