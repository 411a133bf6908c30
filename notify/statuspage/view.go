package statuspage

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/notify"
	"github.com/seed3787e6f1/detour/spec"
)

// Service states, worst last.
const (
	StateOperational = "operational"
	StateDegraded    = "degraded"
	StateOutage      = "outage"
)

// Page is what the status page shows; its JSON form is /status.json.
type Page struct {
	Title   string `json:"title"`
	LogoURL string `json:"logo_url,omitempty"`
	// Status is the worst state of any service.
	Status   string    `json:"status"`
	Services []Service `json:"services"`
	// Incidents are the open incidents, newest first; Resolved the
	// recently resolved ones.
	Incidents []Incident     `json:"incidents"`
	Resolved  []Incident     `json:"resolved"`
	History   []HistoryEntry `json:"history"`
	Node      string         `json:"node,omitempty"`
	// StateTime is the time of the latest change this node applied;
	// Generated is when the page was made.
	StateTime time.Time `json:"state_time"`
	Generated time.Time `json:"generated"`
	// CutOff is true while the node serving the page is cut off from
	// its cluster: what it shows may be out of date.
	CutOff bool `json:"cut_off,omitempty"`
}

// Service is one record under its friendly name.
type Service struct {
	Name   string `json:"name"`
	Record string `json:"record"`
	Type   string `json:"type"`
	Status string `json:"status"`
	// Detail says where the service is served from, in words.
	Detail     string `json:"detail"`
	Datacenter string `json:"datacenter,omitempty"`
}

// Incident is an incident as customers read it.
type Incident struct {
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	Status   string    `json:"status"`
	Opened   time.Time `json:"opened"`
	ETA      time.Time `json:"eta,omitzero"`
	Resolved time.Time `json:"resolved,omitzero"`
	Updates  []Update  `json:"updates"` // newest first
	// Hidden counts the older updates left off to keep the page small.
	Hidden int `json:"hidden_updates,omitempty"`
}

// Update is one message of an incident: what the operator wrote and
// when, never who wrote it.
type Update struct {
	Time    time.Time `json:"time"`
	Status  string    `json:"status"`
	Message string    `json:"message"`
	// Automatic marks what detour wrote itself; operators' words come
	// first.
	Automatic bool `json:"automatic,omitempty"`
}

// HistoryEntry is one failover, recovery or incident message, in public
// words: the service, where it is served from, what the operator wrote;
// never a probe's reason, a node or an operator.
type HistoryEntry struct {
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`
	Severity string    `json:"severity"`
	Title    string    `json:"title"`
	Message  string    `json:"message"`
}

// build reads the page from the node's local state (a view of it): no
// leader, API or other node is needed. Everything on the
// page is public: the spec's service names and datacenters, states and
// times, and what operators wrote in incidents, within lim.
func build(v *controller.View, lim Limits) Page {
	st := pageState{spec: v.Spec(), now: v.Now(), decisions: v.Decisions(), incidents: v.Incidents(), events: v.Events()}
	s := st.spec
	p := Page{Title: "Service status", Status: StateOperational, StateTime: st.now, Services: []Service{},
		Incidents: []Incident{}, Resolved: []Incident{}, History: []HistoryEntry{}}
	if s != nil && s.StatusPage != nil {
		p.Title, p.LogoURL = s.StatusPage.Title, s.StatusPage.LogoURL
	}
	shown := addServices(&p, &st, s)
	b := newBudget(lim)
	addIncidents(&p, &st, lim, b)
	addHistory(&p, &st, s, shown, lim, b)
	return p
}

// pageState is what the page is made from, read from one view.
type pageState struct {
	spec      *spec.Spec
	now       time.Time
	decisions []controller.Decision
	incidents map[string]*controller.Incident
	events    []controller.Event
}

// addServices adds each service's state and returns the records shown.
func addServices(p *Page, st *pageState, s *spec.Spec) map[string]bool {
	decisions := map[string]controller.Decision{}
	for _, d := range st.decisions {
		decisions[d.Name+" "+d.Type] = d
	}
	shown := map[string]bool{}
	for _, svc := range services(s) {
		shown[svc.Record+" "+svc.Type] = true
		d, ok := decisions[svc.Record+" "+svc.Type]
		if !ok {
			continue
		}
		out := describe(s, svc, d)
		if rank(out.Status) > rank(p.Status) {
			p.Status = out.Status
		}
		p.Services = append(p.Services, out)
	}
	return shown
}

// addIncidents adds the open incidents and the recently resolved ones,
// newest first, with their newest updates, within the limits.
func addIncidents(p *Page, st *pageState, lim Limits, b *budget) {
	ids := make([]string, 0, len(st.incidents))
	for id := range st.incidents {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return st.incidents[ids[i]].Opened.After(st.incidents[ids[j]].Opened) })
	for _, id := range ids {
		inc := st.incidents[id]
		open := inc.Status == "open"
		if open && len(p.Incidents) >= lim.Incidents || !open && len(p.Resolved) >= lim.Resolved {
			continue
		}
		title, ok := b.take(inc.Title, lim.Title)
		if !ok {
			break
		}
		c := Incident{ID: inc.ID, Title: title, Status: inc.Status, Opened: inc.Opened, ETA: inc.ETA, Resolved: inc.Resolved, Updates: []Update{}}
		for _, u := range incidentWords(inc) {
			msg, ok := b.take(u.Message, lim.Message)
			if !ok || len(c.Updates) >= lim.Updates {
				c.Hidden++
				continue
			}
			u.Message = msg
			c.Updates = append(c.Updates, u)
		}
		if open {
			p.Incidents = append(p.Incidents, c)
		} else {
			p.Resolved = append(p.Resolved, c)
		}
	}
}

// incidentWords are an incident's messages as the page lists them: the
// operators' updates first, newest first, then the automatic current
// word on each service, then any older automatic
// updates. Empty messages (an automatic incident's opening) are left
// out.
func incidentWords(inc *controller.Incident) []Update {
	var ops, auto []Update
	for i := len(inc.Updates) - 1; i >= 0; i-- {
		u := inc.Updates[i]
		if strings.TrimSpace(u.Message) == "" {
			continue
		}
		w := Update{Time: u.Time, Status: u.Status, Message: u.Message}
		if u.Author == notify.AutoAuthor {
			w.Automatic = true
			auto = append(auto, w)
		} else {
			ops = append(ops, w)
		}
	}
	var current []Update
	for _, c := range inc.Current {
		current = append(current, Update{Time: c.Time, Status: "current", Message: c.Message, Automatic: true})
	}
	return slices.Concat(ops, current, auto)
}

// addHistory adds the latest failovers, recoveries and incident
// messages of the shown services.
func addHistory(p *Page, st *pageState, s *spec.Spec, shown map[string]bool, lim Limits, b *budget) {
	for i := len(st.events) - 1; i >= 0 && len(p.History) < lim.History; i-- {
		ev := st.events[i]
		if ev.Kind != "record" && ev.Kind != "incident" {
			continue
		}
		if ev.Kind == "record" && !shown[ev.Subject] {
			continue // a record the page does not show stays private
		}
		n := notify.Build(ev, s, nil)
		if ev.Kind == "record" && n.Severity == notify.SeverityInfo && strings.Contains(ev.Message, "(was nothing)") {
			continue // the first answer after a spec change is no news
		}
		title, msg := publicText(ev, n, st.incidents[ev.Subject])
		title, ok := b.take(title, lim.Title)
		if !ok {
			break
		}
		if msg, ok = b.take(msg, lim.Message); !ok {
			break
		}
		p.History = append(p.History, HistoryEntry{ID: n.ID, Time: n.Time, Kind: n.Kind, Severity: n.Severity, Title: title, Message: msg})
	}
}

// publicText is an event's title and message for customers. A record
// event is its service and datacenters (the event's own text carries
// the probes' reasons and the operators' names); an incident event is
// the incident's title and the message its update carried.
func publicText(ev controller.Event, n notify.Notification, inc *controller.Incident) (string, string) {
	if ev.Kind == "record" {
		if n.Title == ev.Message || n.Service == "" {
			return n.Service + " changed where it is served from", ""
		}
		return n.Title, ""
	}
	if inc == nil {
		return "Incident " + ev.Subject, ""
	}
	title, msg := "Incident "+inc.ID+": "+inc.Title, ""
	for _, u := range inc.Updates {
		if u.Time.Equal(ev.Time) {
			msg = u.Message
			if u.Status == "resolved" {
				title += " (resolved)"
			}
		}
	}
	for _, c := range inc.Current {
		if msg == "" && c.Time.Equal(ev.Time) {
			msg = c.Message
		}
	}
	return title, msg
}

// services are the spec's services, or every record by its own name.
func services(s *spec.Spec) []spec.Service {
	if s == nil {
		return nil
	}
	if s.StatusPage != nil && len(s.StatusPage.Services) > 0 {
		out := append([]spec.Service(nil), s.StatusPage.Services...)
		for i := range out {
			if out[i].Type == "" {
				for _, r := range s.Records {
					if r.Name == out[i].Record {
						out[i].Type = r.Type
					}
				}
			}
		}
		return out
	}
	var out []spec.Service
	for _, r := range s.Records {
		out = append(out, spec.Service{Record: r.Name, Type: r.Type, Name: strings.TrimSuffix(r.Name, ".")})
	}
	return out
}

// describe puts a record's answer in customers' words: served from its
// first choice, from another datacenter, or from the fallback.
func describe(s *spec.Spec, svc spec.Service, d controller.Decision) Service {
	out := Service{Name: svc.Name, Record: svc.Record, Type: svc.Type, Status: StateOperational}
	var rec *spec.Record
	for i := range s.Records {
		if s.Records[i].Name == d.Name && s.Records[i].Type == d.Type {
			rec = &s.Records[i]
		}
	}
	dcOf := map[string]string{}
	for _, p := range s.Pools {
		dcOf[p.Name] = p.Datacenter
	}
	switch {
	case d.Fallback && len(d.Answers) > 0:
		out.Status, out.Detail = StateOutage, "No datacenter can serve it: answering with the fallback"
	case d.Fallback:
		out.Status, out.Detail = StateOutage, "No datacenter can serve it"
	case rec != nil && rec.Policy == spec.PolicyFailover && len(rec.Pools) > 0 && d.Pool != rec.Pools[0].Pool:
		out.Datacenter = dcOf[d.Pool]
		out.Status = StateDegraded
		out.Detail = "Served from " + orPool(out.Datacenter, d.Pool) + " (moved away from " + orPool(dcOf[rec.Pools[0].Pool], rec.Pools[0].Pool) + ")"
	case rec != nil && rec.Policy != spec.PolicyFailover && len(strings.Split(d.Pool, ",")) < len(rec.Pools):
		out.Status, out.Detail = StateDegraded, "Served from "+d.Pool+" only"
	default:
		out.Datacenter = dcOf[d.Pool]
		out.Detail = "Served from " + orPool(out.Datacenter, d.Pool)
	}
	return out
}

func orPool(dc, pool string) string {
	if dc != "" {
		return dc
	}
	return pool
}

func rank(state string) int {
	return map[string]int{StateOperational: 0, StateDegraded: 1, StateOutage: 2}[state]
}
