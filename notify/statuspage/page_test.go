package statuspage_test

import (
	"context"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/notify/statuspage"
	"github.com/seed3787e6f1/detour/spec"
)

const pageSpec = `zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: |
      ns1 IN A 127.0.0.1
datacenters: [{name: us-east}, {name: us-west}, {name: eu-west}]
checks:
  - {name: web, type: http, interval: 1s, timeout: 500ms}
pools:
  - {name: pa, datacenter: us-east, check: web, endpoints: [{address: 192.0.2.1}]}
  - {name: pb, datacenter: us-west, check: web, endpoints: [{address: 192.0.2.2}]}
records:
  - {name: www.example.test, type: A, pools: [pa, pb], fallback: [192.0.2.99]}
  - {name: api.example.test, type: A, pools: [pb]}
status_page:
  title: Acme <status>
  services: [{record: www.example.test, name: Website}]
`

// A one-node controller: every pool down, an incident whose message
// carries markup, one resolved. The page says outage, escapes the
// markup, lists only the configured services, and the feed parses.
func TestPageFromLocalState(t *testing.T) {
	s, err := spec.Parse([]byte(pageSpec))
	if err != nil {
		t.Fatal(err)
	}
	st, err := controller.OpenStore(controller.StoreConfig{
		NodeID: "n1", Datacenter: "us-east", RaftAddr: "127.0.0.1:0", DataDir: filepath.Join(t.TempDir(), "n1"),
		Timing: controller.Timing{HeartbeatTimeout: 300 * time.Millisecond, ElectionTimeout: 300 * time.Millisecond,
			LeaderLeaseTimeout: 150 * time.Millisecond, CommitTimeout: 10 * time.Millisecond, StaleAfter: time.Hour},
		Seed: s, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for sp, _ := st.FSM().Spec(); sp == nil || !st.IsLeader(); sp, _ = st.FSM().Spec() {
		if time.Now().After(deadline) {
			t.Fatal("no leader with the spec")
		}
		time.Sleep(20 * time.Millisecond)
	}
	propose := func(c *controller.Command) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := st.Propose(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	propose(&controller.Command{Type: controller.CmdObserverReport, Report: &controller.ObserverReport{Observer: "n1", Changes: []controller.VerdictChange{
		{Pool: "pa", Address: "192.0.2.1", Up: false}, {Pool: "pb", Address: "192.0.2.2", Up: false}}}})
	propose(&controller.Command{Type: controller.CmdIncident, Incident: &controller.IncidentCommand{Action: "open", Title: "Old", Message: "done"}})
	propose(&controller.Command{Type: controller.CmdIncident, Incident: &controller.IncidentCommand{Action: "resolve", ID: "1", Message: "fixed"}})
	propose(&controller.Command{Type: controller.CmdIncident, Incident: &controller.IncidentCommand{Action: "open", Title: "Everything down", Message: `<script>alert("x")</script> we are on it`}})

	srv := httptest.NewServer(statuspage.New(statuspage.Options{State: st.FSM(), Node: "n1"}).Handler())
	t.Cleanup(srv.Close)
	page := statuspage.New(statuspage.Options{State: st.FSM()}).Page()
	if page.Status != statuspage.StateOutage || len(page.Services) != 1 || page.Services[0].Name != "Website" ||
		!strings.Contains(page.Services[0].Detail, "fallback") {
		t.Errorf("page: %+v", page)
	}
	if len(page.Incidents) != 1 || page.Incidents[0].Title != "Everything down" || len(page.Resolved) != 1 {
		t.Errorf("incidents: open %+v, resolved %+v", page.Incidents, page.Resolved)
	}

	for _, tc := range []struct {
		path, ctype string
		code        int
		has, lacks  []string
	}{
		{"/", "text/html", 200, []string{"Acme &lt;status&gt;", "&lt;script&gt;alert", "Some services are down", "Outage"}, []string{"<script"}},
		{"/status.json", "application/json", 200, []string{`"status": "outage"`, `"name": "Website"`}, []string{"api.example.test"}},
		{"/feed.atom", "application/atom+xml", 200, []string{"urn:detour:event:"}, nil},
		{"/nope", "text/plain", 404, nil, nil},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(raw)
		if resp.StatusCode != tc.code || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) {
			t.Errorf("%s: %d %s", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for _, h := range tc.has {
			if !strings.Contains(body, h) {
				t.Errorf("%s lacks %q", tc.path, h)
			}
		}
		for _, l := range tc.lacks {
			if strings.Contains(body, l) {
				t.Errorf("%s has %q", tc.path, l)
			}
		}
		if tc.path == "/feed.atom" {
			var f struct {
				XMLName xml.Name
				Entries []struct {
					Title string `xml:"title"`
				} `xml:"entry"`
			}
			if err := xml.Unmarshal([]byte(body), &f); err != nil || f.XMLName.Space != "http://www.w3.org/2005/Atom" || len(f.Entries) < 3 {
				t.Errorf("feed: %v %+v", err, f)
			}
		}
	}
}
