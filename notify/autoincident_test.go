package notify_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/internal/testcluster"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/notify"
	"github.com/seed3787e6f1/detour/notify/statuspage"
)

// pageSpec adds a status page with one service, Website, and a record
// not on the page that fails over with it.
const pageSpec = `  - {name: api.example.test, type: A, ttl: 1, policy: failover, pools: [web-us-east, web-us-west]}
status_page:
  services: [{record: www.example.test, name: Website}]
  auto_incident: true
`

var datedTime = regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC`)

func statusJSON(t *testing.T, m *testcluster.Member) statuspage.Page {
	t.Helper()
	resp, err := http.Get("http://" + m.Node.StatusAddr() + "/status.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p statuspage.Page
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

func applySpec(t *testing.T, c *testcluster.Cluster, text string) {
	t.Helper()
	if err := c.Propose(c.Leader(), &controller.Command{Type: controller.CmdSetSpec, Spec: &controller.SetSpec{YAML: []byte(text), Author: "test"}}); err != nil {
		t.Fatal(err)
	}
}

// automaticWords are the incident's automatic current words.
func automaticWords(inc statuspage.Incident) []string {
	var out []string
	for _, u := range inc.Updates {
		if u.Automatic && u.Status == "current" {
			out = append(out, u.Message)
		}
	}
	return out
}

// Down, up and down again within a minute: the automatic incident's one
// word on the service says what the services table says (served from
// us-west), with a dated time; the record not on the page is never
// mentioned; the operator's update is listed first; once the site is
// back for auto_resolve, the incident resolves itself.
func TestAutoIncidentAgreesWithServices(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{})
	applySpec(t, c, c.Spec+pageSpec+"  auto_resolve: 2s\n")
	east, follower := c.Member("us-east"), c.Live()[1]
	start := time.Now()
	for _, up := range []bool{false, true, false} {
		east.Site.SetUp(up)
		want := testcluster.Answers["us-west"]
		if up {
			want = testcluster.Answers["us-east"]
		}
		c.WaitAnswer(follower, want, 15*time.Second)
	}
	if d := time.Since(start); d > time.Minute {
		t.Fatalf("down/up/down took %s, want within a minute", d)
	}
	var p statuspage.Page
	testutil.Eventually(t, "the incident's word to agree with the services table", 15*time.Second, func() bool {
		p = statusJSON(t, follower)
		if len(p.Incidents) != 1 || len(p.Services) != 1 {
			return false
		}
		words := automaticWords(p.Incidents[0])
		return len(words) == 1 && strings.Contains(words[0], "served from us-west since")
	})
	svc, word := p.Services[0], automaticWords(p.Incidents[0])[0]
	if svc.Detail != "Served from us-west (moved away from us-east)" || !strings.Contains(word, "(moved away from us-east)") {
		t.Fatalf("services table %q, incident %q: they disagree", svc.Detail, word)
	}
	if !datedTime.MatchString(word) {
		t.Errorf("incident word %q carries no dated time", word)
	}
	body, _ := json.Marshal(p.Incidents)
	if strings.Contains(string(body), "api") {
		t.Errorf("the incident mentions a record not on the status page: %s", body)
	}

	id := p.Incidents[0].ID
	if err := c.Propose(c.Leader(), &controller.Command{Type: controller.CmdIncident, Incident: &controller.IncidentCommand{
		Action: controller.IncidentActionUpdate, ID: id, Message: "Our provider is replacing a router.", Author: "alice"}}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the operator's update first", 10*time.Second, func() bool {
		p = statusJSON(t, follower)
		return len(p.Incidents) == 1 && len(p.Incidents[0].Updates) > 0 && p.Incidents[0].Updates[0].Message == "Our provider is replacing a router."
	})

	east.Site.SetUp(true)
	c.WaitAnswer(follower, testcluster.Answers["us-east"], 15*time.Second)
	testutil.Eventually(t, "the incident to resolve itself after auto_resolve", 30*time.Second, func() bool {
		p = statusJSON(t, follower)
		return len(p.Incidents) == 0 && len(p.Resolved) == 1
	})
	r := p.Resolved[0]
	if r.ID != id || len(r.Updates) != 3 || !strings.HasPrefix(r.Updates[2].Message, "Resolved automatically") {
		t.Fatalf("resolved incident %+v, want %s resolved automatically", r, id)
	}
	if m := r.Updates[2].Message; !strings.HasSuffix(m, " UTC.") {
		t.Errorf("the resolution reads %q: customers want the time it is back since, not the auto_resolve setting", m)
	}
	if w := automaticWords(r); len(w) != 1 || !strings.Contains(w[0], "served from us-east again since") {
		t.Errorf("resolved incident's word %q, want served from us-east again", w)
	}
}

// autoCaughtUp waits until the automatic incident writer has read every
// event committed so far, so that an incident it did not open is
// known not to come.
func autoCaughtUp(t *testing.T, c *testcluster.Cluster) {
	t.Helper()
	m := c.Leader()
	target := m.Node.Store().FSM().View().NextEvent()
	testutil.Eventually(t, "the automatic incident writer to catch up", 15*time.Second, func() bool {
		cur, ok := m.Node.Store().FSM().View().Cursor(notify.AutoIncidentCursor)
		return ok && cur.Seq >= target
	})
}

func incidents(c *testcluster.Cluster) int {
	return len(c.Leader().Node.Store().FSM().View().Incidents())
}

// A cold start whose first probes run before us-east's site listens
// moves www to us-west and back, and a planned drain moves it again:
// neither opens an incident.
func TestNoAutoIncidentForStartUpOrDrain(t *testing.T) {
	observers := []string{"127.0.0.21", "127.0.0.22", "127.0.0.23"}
	c := testcluster.New(t, testcluster.Options{Configure: func(m *testcluster.Member, cfg *node.Config) {
		text, err := os.ReadFile(cfg.Spec)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Spec = filepath.Join(t.TempDir(), "spec.yaml")
		if err := os.WriteFile(cfg.Spec, append(text, pageSpec...), 0o644); err != nil {
			t.Fatal(err)
		}
		if m.DC != "us-east" {
			return
		}
		site := m.Site
		site.SetUp(false) // still starting when the first probes come
		go func() {
			for i := 0; i < 600; i++ { // 60 s at most
				n := uint64(1 << 62)
				for _, ip := range observers {
					n = min(n, site.Probes(ip))
				}
				if n >= 12 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			site.SetUp(true)
		}()
	}})
	var startMoves, neverUp int
	for _, ev := range c.Events(c.Leader()) {
		if ev.Kind == "endpoint" && strings.Contains(ev.Message, controller.NeverSeenUp) {
			neverUp++
		}
		if ev.Kind == "record" && strings.HasPrefix(ev.Message, "www.example.test. A now answers "+testcluster.Answers["us-west"]) {
			startMoves++
		}
	}
	if neverUp == 0 || startMoves == 0 {
		t.Fatalf("the cold start did not move www (%d never-seen-up endpoint events, %d moves): events %+v", neverUp, startMoves, c.Events(c.Leader()))
	}
	autoCaughtUp(t, c)
	if n := incidents(c); n != 0 {
		t.Fatalf("%d incidents after a cold start, want none", n)
	}

	drainedAt := time.Now().Add(-time.Second) // the cluster's clock is the leader's
	if err := c.Propose(c.Leader(), &controller.Command{Type: controller.CmdSetOverride, Override: &controller.Override{
		Kind: controller.OverrideDrain, Target: "us-east", Reason: "planned maintenance", Author: "alice"}}); err != nil {
		t.Fatal(err)
	}
	c.WaitAnswer(c.Live()[1], testcluster.Answers["us-west"], 15*time.Second)
	autoCaughtUp(t, c)
	if n := incidents(c); n != 0 {
		t.Fatalf("%d incidents after a planned drain, want none", n)
	}
	// Nor does the page's history call it a failure.
	var drained *statuspage.HistoryEntry
	testutil.Eventually(t, "the drain in the page's history", 10*time.Second, func() bool {
		p := statusJSON(t, c.Live()[1])
		for i := range p.History {
			if strings.Contains(p.History[i].Title, "us-west") && p.History[i].Time.After(drainedAt) {
				drained = &p.History[i]
				return strings.Contains(drained.Title, "planned maintenance")
			}
		}
		return false
	})
	if drained.Severity == "critical" {
		t.Errorf("the drain is in the history as %s: %+v", drained.Severity, *drained)
	}
}
