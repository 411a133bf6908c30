package api_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
)

// secretSink is an attacker's server: it records every request and the
// header values it carries.
type secretSink struct {
	mu       sync.Mutex
	requests int
	seen     []string // header values and bodies
}

func (s *secretSink) record(vals ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.seen = append(s.seen, vals...)
}

// holds reports how many requests arrived and whether any carried v.
func (s *secretSink) holds(v string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.seen {
		if strings.Contains(x, v) {
			return s.requests, true
		}
	}
	return s.requests, false
}

// httpSink records what reaches an HTTP server on loopback.
func httpSink(t *testing.T) (*httptest.Server, *secretSink) {
	t.Helper()
	sink := &secretSink{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var vals []string
		for _, vs := range r.Header {
			vals = append(vals, vs...)
		}
		body := make([]byte, 64<<10)
		n, _ := r.Body.Read(body)
		sink.record(append(vals, string(body[:n]))...)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	return srv, sink
}

// smtpSink is a relay on loopback that accepts anything and records each
// command line, AUTH's credentials decoded.
func smtpSink(t *testing.T) (string, *secretSink) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	sink := &secretSink{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveSMTP(c, sink)
		}
	}()
	return ln.Addr().String(), sink
}

func serveSMTP(c net.Conn, sink *secretSink) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	sink.record()
	r := bufio.NewReader(c)
	say := func(s string) { fmt.Fprintf(c, "%s\r\n", s) }
	say("220 sink ESMTP")
	inData := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		if inData {
			if line == "." {
				inData = false
				say("250 queued")
			}
			continue
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			say("250-sink")
			say("250 AUTH PLAIN")
		case "AUTH":
			_, cred, _ := strings.Cut(arg, " ")
			plain, _ := base64.StdEncoding.DecodeString(cred)
			sink.mu.Lock()
			sink.seen = append(sink.seen, "AUTH "+string(plain))
			sink.mu.Unlock()
			say("235 ok")
		case "DATA":
			inData = true
			say("354 go on")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

// envUseSpec is the test spec whose check probes checkAddr over HTTP
// with the header X-Probe from headerVar, and whose PagerDuty and email
// channels, aimed at pdURL and smtpAddr, take their secrets from pdVar
// and pwVar.
func envUseSpec(t *testing.T, checkAddr, headerVar, pdURL, pdVar, smtpAddr, pwVar string) string {
	t.Helper()
	doc := specText(t, checkAddr, checkAddr, checkAddr)
	doc = strings.Replace(doc, "{name: web, type: tcp, interval: 200ms, timeout: 100ms, rise: 1, fall: 1}",
		fmt.Sprintf("{name: web, type: http, interval: 200ms, timeout: 150ms, rise: 1, fall: 1, headers_env: {X-Probe: %s}}", headerVar), 1)
	host, port, err := net.SplitHostPort(smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	return doc + fmt.Sprintf(`notifications:
  channels:
    - {name: pager, type: pagerduty, url: %q, routing_key_env: %s, filters: {kinds: [spec]}}
    - name: mail
      type: email
      filters: {kinds: [spec]}
      smtp: {server: %q, port: %s, starttls: false, username: detour, password_env: %s, from: detour@example.test, to: [oncall@example.test]}
`, pdURL, pdVar, host, port, pwVar)
}

const stolen = "cf-token-that-must-stay-home-0123456789"

// The audit (review of issue 11 item 6): one allow-list served every use,
// so an admin could name the provider's token in a check header aimed at
// their own server, as a PagerDuty routing key with the url overridden,
// or as an SMTP password. Now a node refuses such a spec at apply, naming
// the setting, and nothing reaches the servers.
func TestProviderTokenRefusedToChecksAndNotificationsAtApply(t *testing.T) {
	t.Setenv("DETOUR_TEST_CF_TOKEN", stolen)
	probe, probes := httpSink(t)
	pd, pages := httpSink(t)
	relay, mails := smtpSink(t)
	_, base := startNode(t, specText(t), testTokens())
	before := snapshot(t, base)

	doc := envUseSpec(t, strings.TrimPrefix(probe.URL, "http://"), "DETOUR_TEST_CF_TOKEN", pd.URL+"/v2/enqueue", "DETOUR_TEST_CF_TOKEN", relay, "DETOUR_TEST_CF_TOKEN")
	code, body := call(t, base, "PUT", "/v1/spec", tokAdmin, api.SpecRequest{YAML: doc})
	if code != http.StatusBadRequest {
		t.Fatalf("apply: %d %s, want 400", code, body)
	}
	var refusal api.Error
	if err := json.Unmarshal(body, &refusal); err != nil {
		t.Fatal(err)
	}
	said := map[string]string{}
	for _, p := range refusal.Problems {
		said[p.Path] = p.Message
	}
	for path, setting := range map[string]string{
		"checks[0].headers_env.X-Probe":               "check_env_prefixes",
		"notifications.channels[0].routing_key_env":   "notify_env_prefixes",
		"notifications.channels[1].smtp.password_env": "notify_env_prefixes",
	} {
		if !strings.Contains(said[path], setting) {
			t.Errorf("%s: refusal %q, want one naming %s (all: %s)", path, said[path], setting, body)
		}
	}
	if after := snapshot(t, base); after != before {
		t.Errorf("a refused spec changed the node: %s -> %s", before, after)
	}
	// The spec in force is unchanged, so nothing will probe or deliver
	// with it; the servers have seen nothing either.
	for name, sink := range map[string]*secretSink{"check target": probes, "pagerduty": pages, "smtp relay": mails} {
		if n, leaked := sink.holds(stolen); n != 0 || leaked {
			t.Errorf("the %s received %d requests (secret among them: %v)", name, n, leaked)
		}
	}
}

// The same spec reaching a node that could not refuse it at apply (a
// seed, or an apply through a node with other settings): where the
// variable is read, the node refuses it; the check is down with a reason
// naming check_env_prefixes, each channel's delivery fails naming
// notify_env_prefixes, and no server sees the secret, or any request.
func TestProviderTokenRefusedToChecksAndNotificationsWhereRead(t *testing.T) {
	t.Setenv("DETOUR_TEST_CF_TOKEN", stolen)
	probe, probes := httpSink(t)
	pd, pages := httpSink(t)
	relay, mails := smtpSink(t)
	doc := envUseSpec(t, strings.TrimPrefix(probe.URL, "http://"), "DETOUR_TEST_CF_TOKEN", pd.URL+"/v2/enqueue", "DETOUR_TEST_CF_TOKEN", relay, "DETOUR_TEST_CF_TOKEN")
	_, base := startNodeWith(t, doc, testTokens(), nil)

	deadline := time.Now().Add(15 * time.Second)
	for {
		var st api.Status
		getJSON(t, base, "/v1/status", tokRead, &st)
		checkRefused := endpointReasons(st, "check_env_prefixes")
		notifyRefused := 0
		for _, c := range st.Notifications {
			if strings.Contains(c.Error, "notify_env_prefixes") {
				notifyRefused++
			}
		}
		if checkRefused == 3 && notifyRefused == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status does not show the refusals (checks %d of 3, channels %d of 2): %+v %+v", checkRefused, notifyRefused, st.Datacenters, st.Notifications)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for name, sink := range map[string]*secretSink{"check target": probes, "pagerduty": pages, "smtp relay": mails} {
		if n, leaked := sink.holds(stolen); n != 0 || leaked {
			t.Errorf("the %s received %d requests (secret among them: %v)", name, n, leaked)
		}
	}
}

// endpointReasons counts the endpoints whose reason says word.
func endpointReasons(st api.Status, word string) int {
	n := 0
	for _, dc := range st.Datacenters {
		for _, p := range dc.Pools {
			for _, ep := range p.Endpoints {
				if !ep.Up && strings.Contains(ep.Reason, word) {
					n++
				}
			}
		}
	}
	return n
}

// The control: variables named for their use work, applied by an admin:
// the check's header, the routing key and the SMTP password reach the
// same servers. Without it the tests above could pass because nothing
// was ever sent.
func TestVariablesNamedForTheirUseAreSent(t *testing.T) {
	const header, key, pw = "probe-credential-0123", "pd-routing-key-0123", "smtp-password-0123"
	t.Setenv("DETOUR_CHECK_TEST_PROBE", header)
	t.Setenv("DETOUR_NOTIFY_TEST_PD", key)
	t.Setenv("DETOUR_NOTIFY_TEST_SMTP", pw)
	probe, probes := httpSink(t)
	pd, pages := httpSink(t)
	relay, mails := smtpSink(t)
	_, base := startNode(t, specText(t), testTokens())

	doc := envUseSpec(t, strings.TrimPrefix(probe.URL, "http://"), "DETOUR_CHECK_TEST_PROBE", pd.URL+"/v2/enqueue", "DETOUR_NOTIFY_TEST_PD", relay, "DETOUR_NOTIFY_TEST_SMTP")
	if code, body := call(t, base, "PUT", "/v1/spec", tokAdmin, api.SpecRequest{YAML: doc}); code != http.StatusOK {
		t.Fatalf("apply: %d %s", code, body)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, h := probes.holds(header)
		_, k := pages.holds(key)
		_, p := mails.holds(pw)
		if h && k && p {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("within 15s: check header sent %v, routing key %v, SMTP password %v", h, k, p)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
