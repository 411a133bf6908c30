package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
)

// Open, update and resolve an incident over HTTP with the operate scope;
// bad requests are refused with a message and change nothing.
func TestIncidents(t *testing.T) {
	_, base := startNode(t, specText(t), testTokens())
	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		want                      int
		msg                       string
	}{
		{"open as read", "POST", "/v1/incidents", tokRead, api.IncidentRequest{Title: "x"}, 403, ""},
		{"open without a title", "POST", "/v1/incidents", tokOperate, api.IncidentRequest{Message: "m"}, 400, "title is required"},
		{"bad eta", "POST", "/v1/incidents", tokOperate, api.IncidentRequest{Title: "x", ETA: "soon"}, 400, "want a duration from now"},
		{"eta in the past", "POST", "/v1/incidents", tokOperate, api.IncidentRequest{Title: "x", ETA: "-1h"}, 400, "in the future"},
		{"update unknown", "POST", "/v1/incidents/99", tokOperate, api.IncidentRequest{Message: "m"}, 404, "no incident"},
		{"list without a token", "GET", "/v1/incidents", "", nil, 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(t, base, tc.method, tc.path, tc.token, tc.body)
			if code != tc.want || !strings.Contains(string(body), tc.msg) {
				t.Errorf("got %d %s, want %d with %q", code, body, tc.want, tc.msg)
			}
		})
	}
	var list api.IncidentsResponse
	getJSON(t, base, "/v1/incidents", tokRead, &list)
	if len(list.Incidents) != 0 {
		t.Fatalf("refused requests left incidents: %+v", list.Incidents)
	}

	var res api.IncidentResult
	post := func(path string, req api.IncidentRequest) {
		t.Helper()
		code, body := call(t, base, "POST", path, tokOperate, req)
		if code != 200 {
			t.Fatalf("POST %s: %d %s", path, code, body)
		}
		res = api.IncidentResult{}
		if err := json.Unmarshal(body, &res); err != nil || res.Incident == nil {
			t.Fatalf("POST %s: %v %s", path, err, body)
		}
	}
	post("/v1/incidents", api.IncidentRequest{Title: "Website slow in us-east", Message: "Investigating.", ETA: "2h"})
	inc := res.Incident
	if inc.ID != "1" || inc.Status != "open" || inc.ETA.Before(time.Now().Add(119*time.Minute)) || inc.Updates[0].Author != "oncall" {
		t.Errorf("opened: %+v", inc)
	}
	post("/v1/incidents/1", api.IncidentRequest{Message: "Traffic moved to us-west.", ETA: "30m"})
	if n := len(res.Incident.Updates); n != 2 || res.Incident.ETA.After(time.Now().Add(31*time.Minute)) {
		t.Errorf("updated: %+v", res.Incident)
	}
	post("/v1/incidents/1", api.IncidentRequest{Action: "resolve", Message: "Fixed."})
	if res.Incident.Status != "resolved" || !res.Incident.ETA.IsZero() {
		t.Errorf("resolved: %+v", res.Incident)
	}
	if code, body := call(t, base, "POST", "/v1/incidents/1", tokOperate, api.IncidentRequest{Message: "again"}); code != 409 {
		t.Errorf("update after resolve: %d %s", code, body)
	}
	var ev api.EventsResponse
	getJSON(t, base, "/v1/events", tokRead, &ev)
	n := 0
	for _, e := range ev.Events {
		if e.Kind == "incident" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("the audit log has %d incident events, want 3", n)
	}
}
