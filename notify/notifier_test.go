package notify

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

const baseSpec = `zones:
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
status_page:
  title: Example status
  services: [{record: www.example.test, name: Website}]
`

// openStore starts a real one-node controller (Raft on loopback,
// raft-boltdb in a temp dir) seeded with text.
func openStore(t *testing.T, text string) *controller.Store {
	t.Helper()
	s, err := spec.Parse([]byte(text))
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
	// The leader records its term in an event of its own, committed
	// after it leads: wait for it, so that the tests' "last event" is
	// not followed by it.
	testutil.Eventually(t, "a leader with the seed spec and its term recorded", 10*time.Second, func() bool {
		sp, _ := st.FSM().Spec()
		return st.IsLeader() && sp != nil && termRecorded(st)
	})
	return st
}

// termRecorded reports whether st's leader event is in the log.
func termRecorded(st *controller.Store) bool {
	for _, ev := range st.FSM().View().Events() {
		if ev.Kind == "member" && strings.Contains(ev.Message, "is the leader") {
			return true
		}
	}
	return false
}

func propose(t *testing.T, st *controller.Store, c *controller.Command) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := st.Propose(ctx, c); err != nil {
		t.Fatal(err)
	}
}

// setUp reports pool pa's endpoint up or down, as the only observer.
func setUp(t *testing.T, st *controller.Store, up bool) {
	t.Helper()
	propose(t, st, &controller.Command{Type: controller.CmdObserverReport, Report: &controller.ObserverReport{
		Observer: "n1", Changes: []controller.VerdictChange{{Pool: "pa", Address: "192.0.2.1", Up: up, Reason: "test"}}}})
}

func cursor(st *controller.Store, name string) controller.NotifyCursor {
	c, _ := st.FSM().View().Cursor(name)
	return c
}

func lastSeq(st *controller.Store) uint64 {
	return st.FSM().View().NextEvent()
}

func startNotifier(t *testing.T, st *controller.Store, env map[string]string, ms *mailServer) {
	t.Helper()
	// The receivers listen on loopback, which a node allows only when
	// told to (guard_test.go tests the refusal).
	deps := Deps{Getenv: func(k string) string { return env[k] }, AllowNetworks: loopback}
	if ms != nil {
		deps.SMTPTLS = &tls.Config{RootCAs: ms.RootCAs}
	}
	runNotifier(t, st, deps)
}

// runNotifier runs a notifier with deps until the test ends or stop is
// called.
func runNotifier(t *testing.T, st *controller.Store, deps Deps) (stop func()) {
	t.Helper()
	n := New(Options{Store: st, Deps: deps, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, AttemptTimeout: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = n.Run(ctx)
	}()
	stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return stop
}

func emailChannel(name string, ms *mailServer, user string) string {
	return fmt.Sprintf(`    - name: %s
      type: email
      smtp: {server: %q, port: %d, username: %s, password_env: SMTP_PASSWORD, from: detour@example.test, to: [oncall@example.test, cto@example.test]}
`, name, ms.Host, ms.Port, user)
}

// Every channel type delivers a failover, an incident with an ETA and
// the recovery to a real receiver, in the receiver's format.
func TestDeliverToEveryChannel(t *testing.T) {
	hook := newReceiver(t, webhookCheck("s3cret"), "ok")
	slack := newReceiver(t, slackCheck, "ok")
	pd := newReceiver(t, pagerDutyCheck("R0UTINGKEY"), `{"status":"success","message":"Event processed"}`)
	ms := newMailServer(t, "detour", "mailpw")
	text := baseSpec + fmt.Sprintf(`notifications:
  channels:
    - {name: hook, type: webhook, url: %q, secret_env: HOOK_SECRET}
    - {name: chat, type: slack, url: %q}
    - {name: pager, type: pagerduty, url: %q, routing_key_env: PD_KEY}
`, hook.URL(), slack.URL(), pd.URL()) + emailChannel("mail", ms, "detour")
	st := openStore(t, text)
	startNotifier(t, st, map[string]string{"HOOK_SECRET": "s3cret", "PD_KEY": "R0UTINGKEY", "SMTP_PASSWORD": "mailpw"}, ms)

	setUp(t, st, false)
	eta := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Minute)
	propose(t, st, &controller.Command{Type: controller.CmdIncident, Incident: &controller.IncidentCommand{
		Action: "open", Title: "Website unreachable in us-east", Message: "Power loss at the us-east site.", ETA: eta, Author: "ops"}})
	setUp(t, st, true)
	last := lastSeq(st)

	for _, name := range []string{"hook", "chat", "pager", "mail"} {
		testutil.Eventually(t, name+"'s cursor at the last event", 15*time.Second, func() bool { return cursor(st, name).Seq == last })
		if c := cursor(st, name); c.Error != "" {
			t.Errorf("%s: cursor error %q", name, c.Error)
		}
	}

	ids, bodies, bad := hook.accepted()
	if len(bad) > 0 {
		t.Fatalf("webhook payloads refused: %v", bad)
	}
	var failover, incident bool
	for _, b := range bodies {
		s := string(b)
		failover = failover || strings.Contains(s, `"severity":"critical"`) && strings.Contains(s, "Website failed over from us-east to us-west")
		incident = incident || strings.Contains(s, "Power loss at the us-east site.") && strings.Contains(s, eta.Format(time.RFC3339))
	}
	if !failover || !incident {
		t.Errorf("webhook: failover %v, incident with ETA %v in %d bodies", failover, incident, len(bodies))
	}
	if !slices.Contains(ids, fmt.Sprint(last)) {
		t.Errorf("webhook ids %v lack the last event %d", ids, last)
	}

	_, sb, bad := slack.accepted()
	if len(bad) > 0 || len(sb) == 0 {
		t.Fatalf("slack: %d accepted, refused: %v", len(sb), bad)
	}

	pdIDs, _, bad := pd.accepted()
	if len(bad) > 0 {
		t.Fatalf("pagerduty payloads refused: %v", bad)
	}
	// The default pagerduty filter: critical record and endpoint events
	// and their recoveries, one alert per record and per datacenter.
	want := []string{"trigger detour/datacenter/us-east", "trigger detour/record/www.example.test. A",
		"resolve detour/datacenter/us-east", "resolve detour/record/www.example.test. A"}
	for _, w := range want {
		if !slices.Contains(pdIDs, w) {
			t.Errorf("pagerduty lacks %q: got %v", w, pdIDs)
		}
	}
	if len(pdIDs) != len(want) {
		t.Errorf("pagerduty got %v, want only %v", pdIDs, want)
	}

	msgs := ms.received()
	var sawFailover bool
	for _, m := range msgs {
		if m.From != "detour@example.test" || len(m.To) != 2 {
			t.Errorf("mail envelope %s -> %v", m.From, m.To)
		}
		if strings.Contains(m.Data, "Subject: [DOWN] Website failed over from us-east to us-west") {
			sawFailover = true
			if !strings.Contains(m.Data, "Message-ID: <detour-event-") || !strings.Contains(m.Data, "text/plain") {
				t.Errorf("mail headers:\n%s", m.Data)
			}
		}
	}
	if !sawFailover {
		t.Errorf("no failover mail among %d", len(msgs))
	}
}
