package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/spf13/cobra"
)

// defaultAPI is where client commands look for a node (contract.md).
const defaultAPI = "http://127.0.0.1:8053"

// defaultTimeout is how long a client command waits for one node before
// it tries the next --api endpoint (or gives up on the last).
const defaultTimeout = 3 * time.Second

// clientOpts are the flags every client command takes.
type clientOpts struct {
	api                   []string
	token, caCert         string
	clientCert, clientKey string
	timeout               time.Duration
	json                  bool
	// cmd is the command the flags belong to: its stderr gets the notes
	// on endpoints skipped.
	cmd *cobra.Command
}

func addClientFlags(cmd *cobra.Command, o *clientOpts) {
	o.cmd = cmd
	f := cmd.Flags()
	f.StringSliceVar(&o.api, "api", nil, "nodes' API URLs, tried in order (repeatable or comma separated; env DETOUR_API, default "+defaultAPI+")")
	f.StringVar(&o.token, "token", "", "bearer token (env DETOUR_TOKEN)")
	f.StringVar(&o.caCert, "ca-cert", "", "CA certificate (PEM) to trust for an https API (env DETOUR_CA_CERT)")
	f.StringVar(&o.clientCert, "client-cert", "", "client certificate (PEM) to present to an https API (env DETOUR_CLIENT_CERT)")
	f.StringVar(&o.clientKey, "client-key", "", "key of --client-cert (env DETOUR_CLIENT_KEY)")
	f.DurationVar(&o.timeout, "timeout", defaultTimeout, "how long to wait for a node's answer before trying the next --api endpoint (env DETOUR_TIMEOUT)")
	f.BoolVar(&o.json, "json", false, "machine-readable output")
}

// client talks to the HTTP API of the first node that answers.
type client struct {
	bases   []string
	token   string
	timeout time.Duration
	http    *http.Client
	// notes receives a line for every endpoint skipped on the way to
	// one that answered (stderr).
	notes io.Writer
	// answered is the index in bases of the endpoint that answered last.
	answered int
}

func (o *clientOpts) client() (*client, error) {
	bases, err := o.endpoints()
	if err != nil {
		return nil, err
	}
	timeout, err := o.timeoutSetting()
	if err != nil {
		return nil, err
	}
	tc, err := o.tlsConfig()
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
	}
	return &client{bases: bases, token: firstOf(o.token, os.Getenv("DETOUR_TOKEN")), timeout: timeout,
		http: &http.Client{Transport: tr}, notes: o.notes()}, nil
}

// timeoutSetting is --timeout, else DETOUR_TIMEOUT, else the default.
func (o *clientOpts) timeoutSetting() (time.Duration, error) {
	timeout := o.timeout
	if env := os.Getenv("DETOUR_TIMEOUT"); env != "" && (o.cmd == nil || !o.cmd.Flags().Changed("timeout")) {
		d, err := time.ParseDuration(env)
		if err != nil {
			return 0, usageError{fmt.Errorf("DETOUR_TIMEOUT %q: want a duration such as 3s", env)}
		}
		timeout = d
	}
	if timeout <= 0 {
		return 0, usageError{fmt.Errorf("--timeout %s: want a positive duration such as 3s", timeout)}
	}
	return timeout, nil
}

func (o *clientOpts) notes() io.Writer {
	if o.cmd == nil {
		return io.Discard
	}
	return o.cmd.ErrOrStderr()
}

// endpoints are the API URLs to try, in order: --api, else DETOUR_API,
// else the default; each may be a comma separated list.
func (o *clientOpts) endpoints() ([]string, error) {
	raw := o.api
	if len(raw) == 0 {
		raw = []string{firstOf(os.Getenv("DETOUR_API"), defaultAPI)}
	}
	var out []string
	for _, r := range raw {
		for _, base := range strings.Split(r, ",") {
			base = strings.TrimSpace(base)
			if base == "" {
				continue
			}
			u, err := url.Parse(base)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, usageError{fmt.Errorf("--api %q: want a URL such as %s", base, defaultAPI)}
			}
			if b := strings.TrimSuffix(base, "/"); !slices.Contains(out, b) {
				out = append(out, b)
			}
		}
	}
	if len(out) == 0 {
		return nil, usageError{fmt.Errorf("--api: no URL given; want one such as %s", defaultAPI)}
	}
	return out, nil
}

// tlsConfig is the client's TLS: the CA to trust and a client
// certificate to present, when given.
func (o *clientOpts) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca := firstOf(o.caCert, os.Getenv("DETOUR_CA_CERT")); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("--ca-cert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-cert %s: no PEM certificate found", ca)
		}
		tc.RootCAs = pool
	}
	certFile, keyFile := firstOf(o.clientCert, os.Getenv("DETOUR_CLIENT_CERT")), firstOf(o.clientKey, os.Getenv("DETOUR_CLIENT_KEY"))
	switch {
	case certFile == "" && keyFile == "":
	case certFile == "" || keyFile == "":
		return nil, usageError{errors.New("--client-cert and --client-key go together")}
	default:
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("--client-cert: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// apiError is an error the API answered with.
type apiError struct {
	status int
	body   api.Error
}

func (e *apiError) Error() string {
	msg := e.body.Error
	for _, p := range e.body.Problems {
		msg += fmt.Sprintf("\n  %s: %s", p.Path, p.Message)
	}
	return msg
}

// request builds a request to base with the token and a JSON body.
func (c *client) request(ctx context.Context, base, method, path string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil || method != http.MethodGet {
		// The API refuses writes that are not JSON, even empty ones
		// (a browser's cross-site form cannot send this type).
		req.Header.Set("Content-Type", "application/json")
	}
	if isGzip(body) {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// do sends a request to the first endpoint that answers and decodes a
// 2xx JSON reply into out; any other reply becomes an error carrying the
// API's message. An endpoint that cannot be reached, or does not answer
// within the timeout, is skipped for the next; one that answered, with
// whatever status, is the answer. A write carries one idempotency key on
// every endpoint it is sent to, so a node that got it before it went
// silent and the node tried next do not both apply it.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return err
		}
		data = compressBig(data)
	}
	key := ""
	if method != http.MethodGet {
		key = newIdempotencyKey()
	}
	var failures []error
	for i, base := range c.bases {
		resp, err := c.attempt(ctx, base, method, path, data, key)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failures = append(failures, err)
			if i+1 < len(c.bases) {
				fmt.Fprintf(c.notes, "detour: %v; trying %s\n", err, c.bases[i+1])
			}
			continue
		}
		c.answered = i
		return c.decode(base, method, path, resp, out)
	}
	err := unreachableAll(failures)
	if key != "" && slices.ContainsFunc(failures, isTimeout) {
		err = fmt.Errorf("%w\na node that did not answer in time may still make the change: see `detour events` before sending it again", err)
	}
	return err
}

// attempt sends one request to base and reads its whole reply within
// the timeout. The error is the endpoint's, with its cause named.
func (c *client) attempt(ctx context.Context, base, method, path string, body []byte, key string) (*reply, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := c.request(actx, base, method, path, body)
	if err != nil {
		return nil, err
	}
	if key != "" {
		req.Header.Set(api.IdempotencyKeyHeader, key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &endpointError{base: base, timeout: c.timeout, err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, &endpointError{base: base, timeout: c.timeout, err: fmt.Errorf("reading the reply: %w", err)}
	}
	if speaksHTTPS(base, resp.StatusCode, data) {
		return nil, &endpointError{base: base, timeout: c.timeout, err: errSpeaksHTTPS}
	}
	return &reply{status: resp.StatusCode, statusText: resp.Status, body: data}, nil
}

// reply is a node's whole answer.
type reply struct {
	status     int
	statusText string
	body       []byte
}

func (c *client) decode(base, method, path string, r *reply, out any) error {
	if r.status/100 != 2 {
		e := &apiError{status: r.status}
		if json.Unmarshal(r.body, &e.body) != nil || e.body.Error == "" {
			e.body.Error = fmt.Sprintf("%s %s: %s: %s", method, path, r.statusText, strings.TrimSpace(string(r.body)))
		}
		return e
	}
	if out == nil || r.status == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		return fmt.Errorf("%s %s: the reply is not what this detour expects (is %s a detour node of the same version?): %w", method, path, base, err)
	}
	return nil
}

// newIdempotencyKey is a random key for one write, the same on every
// endpoint the write is sent to.
func newIdempotencyKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
