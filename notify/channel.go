package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/internal/netguard"
	"github.com/seed3787e6f1/detour/spec"
)

// Errors of delivery. Check them with errors.Is.
var (
	// ErrRejected means the receiver answered but refused the delivery
	// (a non-2xx status, an SMTP error reply).
	ErrRejected = errors.New("receiver refused the delivery")
	// ErrNoSecret means a secret's environment variable is empty on this
	// node, or is one the node does not let a notification read (a
	// provider's or a check's variable: its notify_env_prefixes). Nothing
	// was sent.
	ErrNoSecret = errors.New("secret not set in the environment, or not one this node lets a notification read (node setting notify_env_prefixes); nothing was sent")
	// ErrTargetNotAllowed means a channel was refused a connection to an
	// address the node does not allow notifications to reach (loopback,
	// link-local, cloud metadata, ...; see Deps.AllowNetworks). Nothing
	// was sent; the event is retried like any failed delivery.
	ErrTargetNotAllowed = netguard.ErrNotAllowed
)

// Channel delivers one notification. Deliver returns nil once the
// receiver has accepted it; any error is retried.
type Channel interface {
	Deliver(ctx context.Context, n Notification) error
}

// Deps are what channels share: the networks they may reach, the
// environment, the TLS settings of SMTP.
type Deps struct {
	// AllowNetworks are networks channels may connect to although they
	// are refused by default (spec.ForbiddenTarget: loopback, link-local,
	// cloud metadata, unspecified, multicast): the node's
	// notify_allow_networks. Empty allows none.
	AllowNetworks []netip.Prefix
	// Getenv reads secrets; nil means os.Getenv. A node's reads only the
	// variables it allows for notifications (spec.EnvNotify) and returns
	// "" for any other, so a channel never carries a provider's token.
	Getenv func(string) string
	// SMTPTLS is the base TLS config for STARTTLS (tests add their CA);
	// nil means the system roots.
	SMTPTLS *tls.Config

	// client sends webhook, Slack and PagerDuty requests through the
	// guard (guard.go); New builds one for all of a notifier's channels.
	client *http.Client
}

func (d Deps) getenv(name string) string {
	if d.Getenv == nil {
		return os.Getenv(name)
	}
	return d.Getenv(name)
}

// NewChannel builds the channel a spec entry describes: the explicit
// table of channel types.
func NewChannel(c spec.Channel, d Deps) (Channel, error) {
	if d.client == nil {
		d.client = newHTTPClient(d.guard())
	}
	switch c.Type {
	case spec.ChannelWebhook:
		return &Webhook{URL: c.URL, SecretEnv: c.SecretEnv, deps: d}, nil
	case spec.ChannelSlack:
		return &Slack{URL: c.URL, deps: d}, nil
	case spec.ChannelEmail:
		if c.SMTP == nil {
			return nil, fmt.Errorf("notify: channel %s: no smtp settings", c.Name)
		}
		return &Email{SMTP: *c.SMTP, deps: d}, nil
	case spec.ChannelPagerDuty:
		return &PagerDuty{URL: c.URL, RoutingKeyEnv: c.RoutingKeyEnv, deps: d}, nil
	}
	return nil, fmt.Errorf("notify: channel %s: unknown type %q", c.Name, c.Type)
}

// post sends a JSON body and turns any status but 2xx into an error
// carrying the receiver's words and, for 429 and 503, its Retry-After.
func post(ctx context.Context, client *http.Client, url string, body []byte, header http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "detour-notify")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return refusal(req.URL.Host, err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	e := &httpError{Status: resp.StatusCode, Body: strings.TrimSpace(string(text))}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}

// httpError is a receiver's refusal.
type httpError struct {
	Status     int
	Body       string
	RetryAfter time.Duration
}

func (e *httpError) Error() string {
	msg := fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

func (e *httpError) Unwrap() error { return ErrRejected }

// retryAfter is how long the receiver asked to wait, or zero.
func retryAfter(err error) time.Duration {
	var he *httpError
	if errors.As(err, &he) {
		return he.RetryAfter
	}
	return 0
}
