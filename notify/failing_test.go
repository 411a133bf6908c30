package notify

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// bubbleDeliveries builds, inside a bubble, the delivery loops of real
// channels with the production backoff defaults, all reading log.
func bubbleDeliveries(t *testing.T, deps Deps, log eventLog, channels ...spec.Channel) []*delivery {
	n := New(Options{Deps: deps})
	n.opts.Deps.client.Transport.(*http.Transport).DisableKeepAlives = true // no idle connection waits on the network
	var ds []*delivery
	for _, c := range channels {
		ch, err := NewChannel(c, n.opts.Deps)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, &delivery{events: log, channel: c, ch: ch, backoff: n.backoff,
			timeout: n.opts.AttemptTimeout, log: slog.New(slog.DiscardHandler)})
	}
	return ds
}

// lastCursor is the last cursor log committed for channel name.
func lastCursor(l *memLog, name string) (c cursorAt, ok bool) {
	for _, cc := range l.committed() {
		if cc.Channel == name {
			c, ok = cursorAt{Seq: cc.Seq, Error: cc.Error}, true
		}
	}
	return c, ok
}

type cursorAt struct {
	Seq   uint64
	Error string
}

// A dead webhook, a Slack answering 500 and an SMTP server refusing the
// login are retried with the backoff, their errors committed in their
// cursors, while a good channel delivers everything at once; once
// fixed, the two catch up within one backoff wait (at most 5 min), and
// the dead one never moves past what it could not deliver. In fake
// time: the production schedule, in milliseconds of real time.
func TestFailingChannelsDoNotBlockInFakeTime(t *testing.T) {
	good := newScript(t, 0)
	slack := newReceiver(t, slackCheck, "ok")
	slack.Fail.Store(500)
	ms := newMailServer(t, "detour", "right")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/hook"
	ln.Close() // nothing listens there any more
	env := map[string]string{"SMTP_PASSWORD": "wrong"}
	// The bubble's clock starts in 2000, before the mail server's
	// certificate: TLS checks it at the real time.
	real := time.Now()
	deps := Deps{Getenv: func(k string) string { return env[k] }, AllowNetworks: loopback,
		SMTPTLS: &tls.Config{RootCAs: ms.RootCAs, Time: func() time.Time { return real }}}
	channels := []spec.Channel{
		{Name: "good", Type: spec.ChannelWebhook, URL: good.URL()},
		{Name: "dead", Type: spec.ChannelWebhook, URL: dead},
		{Name: "chat", Type: spec.ChannelSlack, URL: slack.URL()},
		{Name: "mail", Type: spec.ChannelEmail, SMTP: &spec.SMTP{Server: ms.Host, Port: ms.Port, Username: "detour",
			PasswordEnv: "SMTP_PASSWORD", From: "detour@example.test", To: []string{"oncall@example.test"}}},
	}
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog(2)
		for i := range log.events {
			log.events[i].Message = "www.example.test moved to us-west" // Slack refuses an empty section
		}
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for _, d := range bubbleDeliveries(t, deps, log, channels...) {
			wg.Go(func() { d.run(ctx) })
		}
		start := time.Now()
		waitFor := func(what string, limit time.Duration, cond func() bool) {
			t.Helper()
			for !cond() {
				if time.Since(start) > limit {
					t.Fatalf("%s: not within %s of fake time; commits %+v", what, limit, log.committed())
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		waitFor("the good channel to deliver everything", 0, func() bool { c, _ := lastCursor(log, "good"); return c.Seq == 2 })
		for name, want := range map[string]string{"dead": "connection refused", "chat": "HTTP 500", "mail": "AUTH"} {
			waitFor(name+"'s error in its cursor", time.Second, func() bool {
				c, _ := lastCursor(log, name)
				return strings.Contains(c.Error, want)
			})
		}
		waitFor("retries", 10*time.Minute, func() bool { return slack.hits.Load() >= 3 && ms.logins.Load() >= 3 })
		fixed := time.Now()
		slack.Fail.Store(0)
		ms.Password.Store("wrong")
		waitFor("chat and mail to catch up", fixed.Sub(start)+5*time.Minute, func() bool {
			chat, _ := lastCursor(log, "chat")
			mail, _ := lastCursor(log, "mail")
			return chat == cursorAt{Seq: 2} && mail == cursorAt{Seq: 2}
		})
		if c, _ := lastCursor(log, "dead"); c.Error == "" || c.Seq >= 2 {
			t.Errorf("the dead webhook's cursor: %+v", c)
		}
		for _, c := range log.committed() {
			if c.Drop != "" {
				t.Errorf("%s dropped an event for a failure of the channel: %+v", c.Channel, c)
			}
		}
		if _, _, bad := slack.accepted(); len(bad) > 0 {
			t.Errorf("slack refused: %v", bad)
		}
		t.Logf("caught up %s of fake time after the fix", time.Since(fixed).Round(time.Second))
		cancel()
		wg.Wait()
	})
}
