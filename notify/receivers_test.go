package notify

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// receiver is a loopback HTTP server that checks each payload against
// the receiver's documented format and records what it accepted. Fail
// makes it answer with that status instead (0: accept).
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	check  func(body []byte, h http.Header) (id string, err error)
	Fail   atomic.Int32
	mu     sync.Mutex
	bodies [][]byte
	ids    []string
	bad    []string // payloads that broke the format
	hits   atomic.Int32
}

func newReceiver(t testing.TB, check func(body []byte, h http.Header) (string, error), reply string) *receiver {
	t.Helper()
	r := &receiver{t: t, check: check}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		body, _ := io.ReadAll(req.Body)
		if code := r.Fail.Load(); code != 0 {
			http.Error(w, "simulated failure", int(code))
			return
		}
		id, err := r.check(body, req.Header)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil {
			r.bad = append(r.bad, err.Error())
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.bodies = append(r.bodies, body)
		r.ids = append(r.ids, id)
		if strings.HasPrefix(reply, "{") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
		} else {
			w.WriteHeader(http.StatusOK)
		}
		_, _ = io.WriteString(w, reply)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) URL() string { return r.srv.URL + "/hook" }

func (r *receiver) accepted() (ids []string, bodies [][]byte, bad []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...), append([][]byte(nil), r.bodies...), append([]string(nil), r.bad...)
}

// webhookCheck verifies the signature and the idempotency headers.
func webhookCheck(secret string) func([]byte, http.Header) (string, error) {
	return func(body []byte, h http.Header) (string, error) {
		if !Verify([]byte(secret), body, h.Get(SignatureHeader)) {
			return "", fmt.Errorf("bad signature %q", h.Get(SignatureHeader))
		}
		var n Notification
		if err := json.Unmarshal(body, &n); err != nil {
			return "", err
		}
		if n.ID == "" || h.Get(IdempotencyHeader) != n.ID || h.Get(EventHeader) != n.ID {
			return "", fmt.Errorf("id %q, headers %q/%q", n.ID, h.Get(IdempotencyHeader), h.Get(EventHeader))
		}
		if n.Severity == "" || n.Kind == "" || n.Title == "" || n.Time.IsZero() {
			return "", fmt.Errorf("incomplete notification %s", body)
		}
		return n.ID, nil
	}
}

// slackCheck holds a payload to Slack's incoming webhook format: text,
// and Block Kit blocks within Slack's limits.
func slackCheck(body []byte, h http.Header) (string, error) {
	if ct := h.Get("Content-Type"); ct != "application/json" {
		return "", fmt.Errorf("content type %q", ct)
	}
	var m struct {
		Text   string           `json:"text"`
		Blocks []map[string]any `json:"blocks"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return "", err
	}
	if m.Text == "" || len(m.Blocks) == 0 || len(m.Blocks) > 50 {
		return "", fmt.Errorf("text %q, %d blocks", m.Text, len(m.Blocks))
	}
	id := ""
	for i, b := range m.Blocks {
		text, _ := b["text"].(map[string]any)
		switch b["type"] {
		case "header":
			if text["type"] != "plain_text" || len(text["text"].(string)) > 150 {
				return "", fmt.Errorf("block %d: header needs plain_text of at most 150 characters: %v", i, text)
			}
		case "section":
			if (text["type"] != "mrkdwn" && text["type"] != "plain_text") || len(text["text"].(string)) > 3000 || text["text"] == "" {
				return "", fmt.Errorf("block %d: section text %v", i, text)
			}
		case "context":
			els, _ := b["elements"].([]any)
			if len(els) == 0 || len(els) > 10 {
				return "", fmt.Errorf("block %d: context needs 1-10 elements", i)
			}
			for _, e := range els {
				em := e.(map[string]any)
				if em["type"] != "mrkdwn" && em["type"] != "plain_text" {
					return "", fmt.Errorf("block %d: element type %v", i, em["type"])
				}
				if _, rest, ok := strings.Cut(em["text"].(string), "event "); ok {
					id, _, _ = strings.Cut(rest, " ")
				}
			}
		default:
			return "", fmt.Errorf("block %d: unexpected type %v", i, b["type"])
		}
	}
	return id, nil
}

// pagerDutyCheck holds an event to the Events API v2 format.
func pagerDutyCheck(key string) func([]byte, http.Header) (string, error) {
	return func(body []byte, _ http.Header) (string, error) {
		var ev PagerDutyEvent
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			return "", err
		}
		if ev.RoutingKey != key {
			return "", fmt.Errorf("routing key %q", ev.RoutingKey)
		}
		if ev.DedupKey == "" || len(ev.DedupKey) > 255 {
			return "", fmt.Errorf("dedup_key %q", ev.DedupKey)
		}
		switch ev.EventAction {
		case "trigger":
			p := ev.Payload
			if p == nil || p.Summary == "" || len(p.Summary) > 1024 || p.Source == "" {
				return "", fmt.Errorf("trigger needs payload.summary and payload.source: %s", body)
			}
			if !slices.Contains([]string{"critical", "error", "warning", "info"}, p.Severity) {
				return "", fmt.Errorf("severity %q", p.Severity)
			}
			if _, err := time.Parse(time.RFC3339, p.Timestamp); p.Timestamp != "" && err != nil {
				return "", err
			}
		case "resolve", "acknowledge":
		default:
			return "", fmt.Errorf("event_action %q", ev.EventAction)
		}
		return ev.EventAction + " " + ev.DedupKey, nil
	}
}

// mailServer is a real SMTP server (go-smtp) on loopback with STARTTLS
// and PLAIN authentication.
type mailServer struct {
	Addr     string
	Host     string
	Port     int
	RootCAs  *x509.CertPool
	Password atomic.Value // string
	mu       sync.Mutex
	msgs     []mail
	logins   atomic.Int32
	conns    atomic.Int32 // connections accepted
}

type mail struct {
	From string
	To   []string
	Data string
}

func newMailServer(t testing.TB, user, password string) *mailServer {
	t.Helper()
	ca := testutil.NewCA(t)
	certFile, keyFile := ca.Issue(t, "localhost")
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(ca.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	ms := &mailServer{RootCAs: x509.NewCertPool()}
	ms.RootCAs.AppendCertsFromPEM(pem)
	ms.Password.Store(password)
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &mailSession{ms: ms, user: user}, nil
	}))
	s.Domain = "localhost"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(&countingListener{Listener: ln, n: &ms.conns}) }()
	t.Cleanup(func() { s.Close() })
	ms.Addr = ln.Addr().String()
	ms.Host = "127.0.0.1"
	ms.Port = ln.Addr().(*net.TCPAddr).Port
	return ms
}

func (ms *mailServer) received() []mail {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]mail(nil), ms.msgs...)
}

type mailSession struct {
	ms   *mailServer
	user string
	auth bool
	cur  mail
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.ms.logins.Add(1)
		if user != s.user || pass != s.ms.Password.Load().(string) {
			return errors.New("invalid credentials")
		}
		s.auth = true
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.auth {
		return smtp.ErrAuthRequired
	}
	s.cur = mail{From: from}
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = string(b)
	s.ms.mu.Lock()
	s.ms.msgs = append(s.ms.msgs, s.cur)
	s.ms.mu.Unlock()
	return nil
}

func (s *mailSession) Reset()        { s.cur = mail{} }
func (s *mailSession) Logout() error { return nil }

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}
