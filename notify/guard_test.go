package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

// loopback is what the tests' notifiers allow: their receivers listen
// there.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

const standInSecret = "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

// standIn plays the cloud metadata service (or the node's own API) on a
// loopback address: it answers every request with a secret and counts
// the connections it accepted and the requests it read, so a test can
// tell that a refused delivery never reached it.
type standIn struct {
	url      string
	port     string
	conns    atomic.Int32
	requests atomic.Int32
}

func newStandIn(t *testing.T, host string) *standIn {
	t.Helper()
	s := &standIn{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.requests.Add(1)
		fmt.Fprint(w, standInSecret)
	}))
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", host, err)
	}
	srv.Listener = l
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	s.url = srv.URL
	_, s.port, _ = net.SplitHostPort(l.Addr().String())
	return s
}

// The audit's attack on notifications, replayed through a running
// notifier: a spec aims a webhook, Slack, PagerDuty and mail channel at
// loopback (standing in for 169.254.169.254, which a test cannot bind and
// the same rule refuses), one of them by a name that resolves to it. On
// a notifier that does not allow loopback nothing connects, and each
// channel's cursor, which `detour status` shows, names the setting and
// holds the event. Allowed, the same channels deliver: the refusals
// were the guard's, not a broken receiver.
func TestChannelsRefuseForbiddenAddresses(t *testing.T) {
	m := newStandIn(t, "127.0.0.1")
	ms := newMailServer(t, "detour", "mailpw")
	text := baseSpec + fmt.Sprintf(`notifications:
  channels:
    - {name: hook, type: webhook, url: %q}
    - {name: byname, type: webhook, url: %q}
    - {name: chat, type: slack, url: %q}
    - {name: pager, type: pagerduty, url: %q, routing_key_env: PD_KEY}
`, m.url+"/latest/meta-data/iam/security-credentials/", "http://localhost:"+m.port+"/latest/api/token",
		m.url+"/slack", m.url+"/v2/enqueue") + emailChannel("mail", ms, "detour")
	channels := []string{"hook", "byname", "chat", "pager", "mail"}
	st := openStore(t, text)
	env := map[string]string{"PD_KEY": "R0UTINGKEY", "SMTP_PASSWORD": "mailpw"}
	deps := Deps{Getenv: func(k string) string { return env[k] }, SMTPTLS: &tls.Config{RootCAs: ms.RootCAs}}

	stop := runNotifier(t, st, deps)
	setUp(t, st, false) // a failover: every channel has an event to send
	last := lastSeq(st)
	for _, name := range channels {
		testutil.Eventually(t, name+"'s refusal in its cursor", 15*time.Second, func() bool {
			return strings.Contains(cursor(st, name).Error, "is not allowed by this node's notify_allow_networks (nothing was sent)")
		})
	}
	stop()
	for _, name := range channels {
		c := cursor(st, name)
		if c.Seq >= last || c.Dropped > 0 {
			t.Errorf("%s: cursor %+v: a refused event must wait, not be skipped or dropped", name, c)
		}
		if !strings.Contains(c.Error, "target address 127.0.0.1 ") && !strings.Contains(c.Error, "target address ::1 ") {
			t.Errorf("%s: error %q does not name the refused address", name, c.Error)
		}
		t.Logf("%s: %s", name, c.Error)
	}
	if n, r := m.conns.Load(), m.requests.Load(); n != 0 || r != 0 {
		t.Errorf("the stand-in accepted %d connections and %d requests", n, r)
	}
	if n := ms.conns.Load(); n != 0 {
		t.Errorf("the mail server accepted %d connections", n)
	}

	deps.AllowNetworks = loopback
	runNotifier(t, st, deps)
	for _, name := range channels {
		testutil.Eventually(t, name+" delivered once allowed", 15*time.Second, func() bool {
			c := cursor(st, name)
			return c.Seq == last && c.Error == ""
		})
	}
	if m.requests.Load() == 0 || len(ms.received()) == 0 {
		t.Errorf("allowed: the stand-in got %d requests, the mail server %d mails", m.requests.Load(), len(ms.received()))
	}
}

// A receiver the node allows cannot redirect a delivery to an address it
// does not: every connection passes the guard.
func TestWebhookRedirectRefused(t *testing.T) {
	m := newStandIn(t, "127.0.0.2")
	front := httptest.NewServer(http.RedirectHandler(m.url+"/latest/api/token", http.StatusTemporaryRedirect))
	t.Cleanup(front.Close)
	deps := Deps{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	ch, err := NewChannel(spec.Channel{Name: "hook", Type: spec.ChannelWebhook, URL: front.URL + "/hook"}, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = ch.Deliver(ctx, Notification{ID: "1", Kind: "spec", Severity: "info", Title: "t", Time: time.Now()})
	if !errors.Is(err, ErrTargetNotAllowed) || !strings.Contains(err.Error(), "target address 127.0.0.2 is not allowed by this node's notify_allow_networks") {
		t.Errorf("got %v, want the redirect's target refused", err)
	}
	if n := m.conns.Load(); n != 0 {
		t.Errorf("the redirect's target accepted %d connections", n)
	}
}

// Notifications ignore HTTP_PROXY: through a proxy the guard would see
// only the proxy's address, and the proxy would fetch whatever the spec
// named. A proxy the node allows gets nothing; the metadata address is
// refused as if no proxy were set.
func TestWebhookIgnoresProxyFromEnvironment(t *testing.T) {
	proxy := newStandIn(t, "127.0.0.1")
	t.Setenv("HTTP_PROXY", proxy.url)
	t.Setenv("http_proxy", proxy.url)
	deps := Deps{AllowNetworks: loopback}
	ch, err := NewChannel(spec.Channel{Name: "hook", Type: spec.ChannelWebhook, URL: "http://169.254.169.254/latest/meta-data/"}, deps)
	if err != nil {
		t.Fatal(err)
	}
	if tr := ch.(*Webhook).deps.client.Transport.(*http.Transport); tr.Proxy != nil {
		t.Error("the notification transport uses a proxy")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = ch.Deliver(ctx, Notification{ID: "1", Kind: "spec", Severity: "info", Title: "t", Time: time.Now()})
	want := "169.254.169.254: target address 169.254.169.254 is not allowed by this node's notify_allow_networks (nothing was sent)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	if n := proxy.conns.Load(); n != 0 {
		t.Errorf("the proxy accepted %d connections", n)
	}
}
