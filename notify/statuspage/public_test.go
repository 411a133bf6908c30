package statuspage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/notify/statuspage"
)

const (
	publicNodeID = "node-7f3a9c"
	aliceToken   = "alice-0a426b4e7f5b4c7d5dd01f87fb676d3e"
	readerToken  = "reader-659196f559cc6667f63b164faee17548"
)

// The audit found the page's history quoting node IDs, probe errors and
// operators. A real node fails over because a probe fails, then alice
// drains the backup datacenter with her token and opens an incident.
// The node's own log has all of it; the page, its JSON and its feed
// show the services, states, times and what alice wrote for customers,
// and nothing else.
func TestStatusPageShowsPublicTextOnly(t *testing.T) {
	sites := []*site{upSite(t), upSite(t), upSite(t)}
	_, apiBase, pageBase := startPublicNode(t, sites)
	waitPage(t, pageBase, func(p statuspage.Page) bool {
		return len(p.Services) == 1 && p.Services[0].Status == statuspage.StateOperational
	})

	sites[0].down() // the probe of us-east now fails: connection refused
	waitPage(t, pageBase, func(p statuspage.Page) bool { return p.Services[0].Datacenter == "us-west" })
	apiCall(t, apiBase, "POST", "/v1/overrides/drain", aliceToken, api.DrainRequest{Target: "us-west", Reason: "OPS-4711 rack swap, ask alice"}, 200)
	waitPage(t, pageBase, func(p statuspage.Page) bool { return p.Services[0].Datacenter == "eu-west" })
	title, msg := "Website running from a backup site", "Our US sites are unavailable; Europe serves all traffic meanwhile."
	apiCall(t, apiBase, "POST", "/v1/incidents", aliceToken, api.IncidentRequest{Title: title, Message: msg}, 200)
	waitPage(t, pageBase, func(p statuspage.Page) bool { return len(p.Incidents) == 1 && len(p.History) >= 3 })

	// The private facts are in the node's own log: the test would see
	// a leak.
	var evs api.EventsResponse
	if err := json.Unmarshal(apiCall(t, apiBase, "GET", "/v1/events", readerToken, nil, 200), &evs); err != nil {
		t.Fatal(err)
	}
	private := []string{publicNodeID, "alice", "refused", sites[0].addr, "OPS-4711", "rack swap"}
	logText, _ := json.Marshal(evs.Events)
	for _, p := range []string{publicNodeID, "alice", "refused", "OPS-4711"} {
		if !bytes.Contains(logText, []byte(p)) {
			t.Fatalf("the event log lacks %q, so the test proves nothing: %s", p, logText)
		}
	}
	for _, path := range []string{"/", "/status.json", "/feed.atom"} {
		body := get(t, pageBase+path)
		for _, want := range []string{"Website", title, msg, "us-west", "eu-west"} {
			if !strings.Contains(body, want) && !(path == "/feed.atom" && want == "us-west") {
				t.Errorf("%s lacks %q", path, want)
			}
		}
		for _, p := range private {
			if strings.Contains(body, p) {
				t.Errorf("%s shows %q:\n%s", path, p, body)
			}
		}
	}
	// The feed's links come from the configured URL, not from the Host
	// a client sends.
	req, _ := http.NewRequest("GET", pageBase+"/feed.atom", nil)
	req.Host = "evil.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	feed, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if bytes.Contains(feed, []byte("evil.example")) || !bytes.Contains(feed, []byte(`href="https://status.example.test/feed.atom"`)) {
		t.Errorf("the feed's links follow the Host header:\n%s", feed)
	}
}

// 40 incidents of 900 KiB once made each page load 38 MB. The API now
// refuses such text, and a state that holds it anyway (written before
// the bound) is cut on the page, which stays under 256 KiB in each form
// and is rendered once per change of the state, not per request.
func TestStatusPageBounded(t *testing.T) {
	n, apiBase, pageBase := startPublicNode(t, []*site{upSite(t), upSite(t), upSite(t)})
	big := strings.Repeat("<a href='x'>details</a> ", 900<<10/24)
	for i := range 40 {
		apiCall(t, apiBase, "POST", "/v1/incidents", aliceToken, api.IncidentRequest{Title: fmt.Sprintf("Incident %d", i), Message: big}, 400)
	}
	apiCall(t, apiBase, "POST", "/v1/incidents", aliceToken, api.IncidentRequest{Title: strings.Repeat("t", 201), Message: "x"}, 400)
	var incs api.IncidentsResponse
	if err := json.Unmarshal(apiCall(t, apiBase, "GET", "/v1/incidents", readerToken, nil, 200), &incs); err != nil || len(incs.Incidents) != 0 {
		t.Fatalf("refused incidents were opened: %v %+v", err, incs.Incidents)
	}
	// At the bounds through the API; far over them straight into the
	// state (as a member could send over the node port) is refused by the
	// state machine itself.
	maxTitle, maxMsg := strings.Repeat("\"", api.MaxIncidentTitle), strings.Repeat("<", api.MaxIncidentMessage)
	for i := range 10 {
		apiCall(t, apiBase, "POST", "/v1/incidents", aliceToken, api.IncidentRequest{Title: maxTitle, Message: maxMsg}, 200)
		if i == 0 {
			for range 8 {
				apiCall(t, apiBase, "POST", "/v1/incidents/1", aliceToken, api.IncidentRequest{Message: maxMsg}, 200)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := n.Store().Propose(ctx, &controller.Command{Type: controller.CmdIncident, Incident: &controller.IncidentCommand{
		Action: controller.IncidentActionOpen, Title: strings.Repeat("T", 10<<10), Message: big[:100<<10], Author: "old"}}); !errors.Is(err, controller.ErrBadCommand) {
		t.Errorf("an incident far over the bounds proposed straight to the state: %v, want ErrBadCommand", err)
	}
	for _, path := range []string{"/", "/status.json", "/feed.atom"} {
		size := len(get(t, pageBase+path))
		t.Logf("%s: %d bytes with 10 open incidents at the bounds", path, size)
		if size > 256<<10 {
			t.Errorf("%s is %d bytes, over 256 KiB", path, size)
		}
	}
	page := getJSON(t, pageBase+"/status.json")
	if len(page.Incidents) == 0 || len(page.Incidents) > statuspage.DefaultLimits.Incidents {
		t.Errorf("%d open incidents shown, want 1 to %d", len(page.Incidents), statuspage.DefaultLimits.Incidents)
	}
	for _, inc := range page.Incidents {
		if len(inc.Title) > statuspage.DefaultLimits.Title || len(inc.Updates) > statuspage.DefaultLimits.Updates {
			t.Errorf("incident %s: a %d-byte title and %d updates shown", inc.ID, len(inc.Title), len(inc.Updates))
		}
	}
	checkCached(t, pageBase)
}

// checkCached: the page carries an ETag, a client holding it gets 304,
// and two requests with no change between them get the same rendering.
func checkCached(t *testing.T, pageBase string) {
	t.Helper()
	cl := &http.Client{Timeout: 5 * time.Second}
	for attempt := 0; ; attempt++ {
		resp, err := cl.Get(pageBase + "/status.json")
		if err != nil {
			t.Fatal(err)
		}
		first, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tag := resp.Header.Get("ETag")
		if tag == "" || resp.Header.Get("Last-Modified") == "" {
			t.Fatalf("no ETag or Last-Modified: %v", resp.Header)
		}
		req, _ := http.NewRequest("GET", pageBase+"/status.json", nil)
		req.Header.Set("If-None-Match", tag)
		resp, err = cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		second := get(t, pageBase+"/status.json")
		if resp.StatusCode == http.StatusNotModified && second == string(first) {
			return // the rendering, its "generated" time included, was reused
		}
		if attempt == 10 {
			t.Fatalf("never a 304 for an unchanged page (last: %d)", resp.StatusCode)
		}
		time.Sleep(100 * time.Millisecond) // the state moved between requests: try again
	}
}

// site is a TCP listener a check probes; down closes it.
type site struct {
	addr string
	ln   net.Listener
}

func upSite(t *testing.T) *site {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return &site{addr: ln.Addr().String(), ln: ln}
}

func (s *site) down() { s.ln.Close() }

// startPublicNode runs a dev node with tokens, a status page, and one
// site per datacenter; it returns the API's and the page's base URLs.
func startPublicNode(t *testing.T, sites []*site) (*node.Node, string, string) {
	t.Helper()
	spec := fmt.Sprintf(`zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test., negative_ttl: 5}
    nameservers: [ns1.example.test.]
    static: |
      ns1 IN A 127.0.0.1
datacenters: [{name: us-east}, {name: us-west}, {name: eu-west}]
checks:
  - {name: web, type: tcp, interval: 200ms, timeout: 100ms, rise: 1, fall: 1}
pools:
  - {name: web-us-east, datacenter: us-east, check: web, endpoints: [{address: 192.0.2.10, check_address: %q}]}
  - {name: web-us-west, datacenter: us-west, check: web, endpoints: [{address: 198.51.100.10, check_address: %q}]}
  - {name: web-eu-west, datacenter: eu-west, check: web, endpoints: [{address: 203.0.113.10, check_address: %q}]}
records:
  - {name: www.example.test, type: A, ttl: 30, policy: failover, pools: [web-us-east, web-us-west, web-eu-west], fallback: [192.0.2.99]}
status_page:
  title: Example status
  services: [{record: www.example.test, name: Website}]
`, sites[0].addr, sites[1].addr, sites[2].addr)
	file := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	tokens := &api.Tokens{}
	tokens.Add("alice", api.ScopeOperate, aliceToken)
	tokens.Add("reader", api.ScopeRead, readerToken)
	n, err := node.Start(node.Config{Dev: true, NodeID: publicNodeID, DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0",
		StatusAddr: "127.0.0.1:0", StatusURL: "https://status.example.test/", Spec: file, Tokens: tokens}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	return n, "http://" + n.APIAddr(), "http://" + n.StatusAddr()
}

// waitPage polls status.json until ok holds (15 s at most).
func waitPage(t *testing.T, base string, ok func(statuspage.Page) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		p := getJSON(t, base+"/status.json")
		if len(p.Services) > 0 && ok(p) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page never got there: %+v", p)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// apiCall sends a JSON request with a token and checks the status.
func apiCall(t *testing.T, base, method, path, token string, body any, want int) []byte {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %.300s", method, path, resp.StatusCode, want, data)
	}
	return data
}

func propose(t *testing.T, n *node.Node, c *controller.Command) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := n.Store().Propose(ctx, c); err != nil {
		t.Fatal(err)
	}
}
