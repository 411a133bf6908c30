package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/spf13/cobra"
)

// defaultAPI is where client commands look for a node (contract.md).
const defaultAPI = "http://127.0.0.1:8053"

// clientOpts are the flags every client command takes.
type clientOpts struct {
	api, token, caCert string
	json               bool
}

func addClientFlags(cmd *cobra.Command, o *clientOpts) {
	f := cmd.Flags()
	f.StringVar(&o.api, "api", "", "a node's API URL (env DETOUR_API, default "+defaultAPI+")")
	f.StringVar(&o.token, "token", "", "bearer token (env DETOUR_TOKEN)")
	f.StringVar(&o.caCert, "ca-cert", "", "CA certificate (PEM) to trust for an https API (env DETOUR_CA_CERT)")
	f.BoolVar(&o.json, "json", false, "machine-readable output")
}

// client talks to one node's HTTP API.
type client struct {
	base  string
	token string
	http  *http.Client
}

func (o *clientOpts) client() (*client, error) {
	base := firstOf(o.api, os.Getenv("DETOUR_API"), defaultAPI)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError{fmt.Errorf("--api %q: want a URL such as %s", base, defaultAPI)}
	}
	c := &client{base: strings.TrimSuffix(base, "/"), token: firstOf(o.token, os.Getenv("DETOUR_TOKEN")), http: &http.Client{Timeout: 30 * time.Second}}
	if ca := firstOf(o.caCert, os.Getenv("DETOUR_CA_CERT")); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("--ca-cert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-cert %s: no PEM certificate found", ca)
		}
		c.http.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	return c, nil
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

// request builds a request with the token and a JSON body.
func (c *client) request(ctx context.Context, method, path string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil || method != http.MethodGet {
		// The API refuses writes that are not JSON, even empty ones
		// (a browser's cross-site form cannot send this type).
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// do sends a request and decodes a 2xx JSON reply into out; any other
// reply becomes an error carrying the API's message.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	req, err := c.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.unreachable(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the reply of %s: %w", c.base, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &apiError{status: resp.StatusCode}
		if json.Unmarshal(data, &e.body) != nil || e.body.Error == "" {
			e.body.Error = fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
		}
		return e
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: the reply is not what this detour expects (is %s a detour node of the same version?): %w", method, path, c.base, err)
	}
	return nil
}

func (c *client) unreachable(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("cannot reach the detour API at %s: %v (is a node running there? set --api or DETOUR_API)", c.base, err)
}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
