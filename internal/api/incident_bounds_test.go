package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/api"
)

// TestIncidentBoundsOverHTTP replays the incident flood of issue 11 with
// an operate token: an incident takes controller.MaxIncidentUpdates
// messages, the next update is answered 409 (resolve it and open a new
// one) and resolving still works; past controller.MaxOpenIncidents open
// incidents, opening one more is answered 409.
func TestIncidentBoundsOverHTTP(t *testing.T) {
	_, base := startNode(t, specText(t), testTokens())
	post := func(path string, req api.IncidentRequest) (int, string) {
		t.Helper()
		code, body := call(t, base, "POST", path, tokOperate, req)
		return code, string(body)
	}
	if code, body := post("/v1/incidents", api.IncidentRequest{Title: "flood", Message: "1"}); code != 200 {
		t.Fatalf("open: %d %s", code, body)
	}
	for i := 2; i <= controller.MaxIncidentUpdates; i++ {
		if code, body := post("/v1/incidents/1", api.IncidentRequest{Message: fmt.Sprint(i)}); code != 200 {
			t.Fatalf("message %d: %d %s", i, code, body)
		}
	}
	code, body := post("/v1/incidents/1", api.IncidentRequest{Message: "one too many"})
	if code != 409 || !strings.Contains(body, "resolve it and open a new one") {
		t.Errorf("message %d: %d %s, want 409 saying to resolve it and open a new one", controller.MaxIncidentUpdates+1, code, body)
	}
	if code, body := post("/v1/incidents/1", api.IncidentRequest{Action: "resolve", Message: "over"}); code != 200 {
		t.Errorf("resolve of a full incident: %d %s", code, body)
	}

	for i := range controller.MaxOpenIncidents {
		if code, body := post("/v1/incidents", api.IncidentRequest{Title: fmt.Sprint("open ", i)}); code != 200 {
			t.Fatalf("open %d: %d %s", i, code, body)
		}
	}
	code, body = post("/v1/incidents", api.IncidentRequest{Title: "one too many"})
	if code != 409 || !strings.Contains(body, "resolve one first") {
		t.Errorf("open %d: %d %s, want 409", controller.MaxOpenIncidents+1, code, body)
	}
	var list api.IncidentsResponse
	getJSON(t, base, "/v1/incidents", tokRead, &list)
	if len(list.Incidents) != controller.MaxOpenIncidents+1 {
		t.Errorf("%d incidents listed, want %d open and the resolved one", len(list.Incidents), controller.MaxOpenIncidents)
	}
}
