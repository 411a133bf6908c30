package statuspage_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/testcluster"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/notify/statuspage"
)

const statusSpec = `status_page:
  title: Example Inc. status
  auto_incident: true
  services: [{record: www.example.test, name: Website}]
`

// The leader's datacenter dies. A surviving follower's status page,
// rendered by a real headless Chromium, shows the failover and the
// incident with its message and ETA. The screenshot is kept as an
// artifact: in $DETOUR_ARTIFACTS when set, else in the test's temp dir.
func TestStatusPageInChromiumOnFollower(t *testing.T) {
	chromium := testutil.Require(t, "chromium")
	c := testcluster.New(t, testcluster.Options{StatusNodeLabels: true})
	leader := c.Leader()
	if err := c.Propose(leader, &controller.Command{Type: controller.CmdSetSpec, Spec: &controller.SetSpec{YAML: []byte(c.Spec + statusSpec), Author: "test"}}); err != nil {
		t.Fatal(err)
	}
	moveLeader(t, c, "us-east")
	lost := c.Leader().DC
	c.KillDC(lost)
	want := map[string]string{"us-east": "us-west", "us-west": "us-east", "eu-west": "us-east"}[lost]
	for _, m := range c.Live() {
		c.WaitAnswer(m, testcluster.Answers[want], 15*time.Second)
	}
	var follower *testcluster.Member
	for _, m := range c.Live() {
		if !m.Node.Store().IsLeader() {
			follower = m
		}
	}
	eta := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Minute)
	msg := "A power failure hit " + lost + "; traffic is served from " + want + "."
	if err := c.Propose(follower, &controller.Command{Type: controller.CmdIncident, Incident: &controller.IncidentCommand{
		Action: "open", Title: "Website running from a backup site", Message: msg, ETA: eta, Author: "ops"}}); err != nil {
		t.Fatal(err)
	}

	base := "http://" + follower.Node.StatusAddr()
	var page statuspage.Page
	deadline := time.Now().Add(15 * time.Second)
	for {
		page = getJSON(t, base+"/status.json")
		if len(page.Incidents) > 0 && (lost != "us-east" || len(page.Services) > 0 && page.Services[0].Status == statuspage.StateDegraded) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status.json on %s never showed the failover and the incident: %+v", follower.ID, page)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if lost == "us-east" {
		// The new leader wrote the automatic incident of the failover.
		deadline = time.Now().Add(15 * time.Second)
		for !hasIncident(page, "traffic moved away from us-east") {
			if time.Now().After(deadline) {
				t.Fatalf("no automatic incident: %+v", page.Incidents)
			}
			time.Sleep(100 * time.Millisecond)
			page = getJSON(t, base+"/status.json")
		}
	}

	html := get(t, base+"/")
	if strings.Contains(strings.ToLower(html), "<script") {
		t.Error("the page carries JavaScript")
	}
	text, shot := render(t, chromium, base+"/")
	for _, w := range []string{"Example Inc. status", "Website", msg, "Expected resolution: " + eta.Format("2006-01-02 15:04 MST"), "served by node " + follower.ID} {
		if !strings.Contains(text, w) {
			t.Errorf("the rendered page lacks %q:\n%s", w, text)
		}
	}
	if lost == "us-east" && !strings.Contains(text, "Served from us-west (moved away from us-east)") {
		t.Errorf("the rendered page does not show the failover:\n%s", text)
	}
	dir := os.Getenv("DETOUR_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "status-page-follower.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of %s's status page after losing %s: %s (%d bytes)", follower.ID, lost, path, len(shot))

	var feed struct {
		Entries []struct {
			Title string `xml:"title"`
			ID    string `xml:"id"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal([]byte(get(t, base+"/feed.atom")), &feed); err != nil {
		t.Fatal(err)
	}
	var sawIncident bool
	for _, e := range feed.Entries {
		sawIncident = sawIncident || strings.Contains(e.Title, "Website running from a backup site")
	}
	if !sawIncident || len(feed.Entries) == 0 {
		t.Errorf("the Atom feed lacks the incident: %+v", feed.Entries)
	}
	c.CheckInvariants()
}

func hasIncident(p statuspage.Page, title string) bool {
	for _, inc := range p.Incidents {
		if strings.Contains(inc.Title, title) {
			return true
		}
	}
	return false
}

// render loads url in headless Chromium and returns the visible text and
// a full-page screenshot.
func render(t *testing.T, chromium, url string) (string, []byte) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1000, 900),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#services"))); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatalf("chromium: page text: %v", err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("chromium: screenshot: %v", err)
	}
	return text, shot
}

func get(t *testing.T, url string) string {
	t.Helper()
	cl := &http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

func getJSON(t *testing.T, url string) statuspage.Page {
	t.Helper()
	var p statuspage.Page
	if err := json.Unmarshal([]byte(get(t, url)), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func moveLeader(t *testing.T, c *testcluster.Cluster, dc string) {
	t.Helper()
	for i := 0; i < 10; i++ {
		l := c.Leader()
		if l.DC == dc {
			return
		}
		_ = l.Node.Store().StepDown(t.Context())
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("could not move the leader to %s", dc)
}
