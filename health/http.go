package health

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// maxBody is how much of a response body is searched for expect_body and
// expect_body_regex: an application's error page shows within it, and a
// huge page does not cost a probe more than this.
const maxBody = 64 << 10

// userAgent identifies detour's probes in access logs.
const userAgent = "detour-health/1"

// httpCheck probes one URL. By default no connection is kept alive
// between probes, so a listener that died is seen on the next probe, not
// after an idle connection times out (keep_alive opts in); redirects are
// reported, not followed, unless the check asks.
type httpCheck struct {
	client  *http.Client // for follow_redirects; otherwise the probe's own connection (http_conn.go)
	dialer  *net.Dialer  // for the probe's own connection
	kept    *keptConn    // keep_alive: this target's connection between probes
	wire    []byte       // the request as sent on the probe's own connection
	tls     *tls.Config  // https: with the server name set
	addr    string
	method  string
	url     string
	host    string
	headers http.Header
	status  spec.StatusCodes
	body    string
	re      *regexp.Regexp
	timeout time.Duration
	minDays int
	now     func() time.Time
}

func httpKind(c *spec.Check, env *env) (func(Target) Checker, error) {
	if c.Method != "" && c.Method != "GET" && c.Method != "HEAD" {
		// Validation refuses them too; a spec from before that rule
		// must not send them either.
		return nil, fmt.Errorf("%w: method %q: a check may use GET or HEAD only", ErrCheckConfig, c.Method)
	}
	var re *regexp.Regexp
	if c.ExpectBodyRegex != "" {
		var err error
		if re, err = regexp.Compile(c.ExpectBodyRegex); err != nil {
			return nil, fmt.Errorf("%w: expect_body_regex: %v", ErrCheckConfig, err)
		}
	}
	var base *tls.Config
	if c.Type == spec.CheckHTTPS {
		var err error
		if base, err = tlsConfig(c); err != nil {
			return nil, err
		}
	}
	var client *http.Client
	if c.FollowRedirects {
		client = &http.Client{Transport: &http.Transport{
			Proxy:                  nil, // probe the endpoint itself, never a proxy from the environment
			DialContext:            env.dialer("tcp").DialContext,
			DisableKeepAlives:      true,
			MaxResponseHeaderBytes: maxBody,
			TLSClientConfig:        base,
		}}
	}
	dialer := env.dialer("tcp")
	headers := http.Header{"User-Agent": {userAgent}}
	host := c.Host
	fromEnv, err := env.headersFromEnv(c)
	if err != nil {
		return nil, err
	}
	for _, hs := range []map[string]string{c.Headers, fromEnv} {
		for k, v := range hs {
			if http.CanonicalHeaderKey(k) == "Host" {
				host = v
				continue
			}
			headers.Set(k, v)
		}
	}
	minDays := 0
	if c.Type == spec.CheckHTTPS {
		minDays = c.MinDays
	}
	return func(t Target) Checker {
		h := &httpCheck{
			client: client, dialer: dialer, addr: t.Probe, method: c.Method, url: c.Type + "://" + t.Probe + c.Path,
			host: host, headers: headers, status: c.ExpectStatus,
			body: c.ExpectBody, re: re, timeout: c.Timeout.D(), minDays: minDays, now: env.now,
		}
		if client != nil {
			return h
		}
		if c.KeepAlive {
			h.kept = &keptConn{}
		}
		req, err := h.newRequest(context.Background())
		if err != nil {
			return brokenChecker(err)
		}
		// The request is the same on every probe: write it once.
		req.Close = !c.KeepAlive // "Connection: close" unless the check keeps it
		var buf bytes.Buffer
		if err := req.Write(&buf); err != nil {
			return brokenChecker(err)
		}
		h.wire = buf.Bytes()
		if base != nil {
			h.tls = targetTLS(base, t.Probe)
		}
		return h
	}, nil
}

// release closes the kept connection, if any.
func (h *httpCheck) release() {
	if h.kept != nil {
		h.kept.close()
	}
}

// newRequest is the check's request to the target.
func (h *httpCheck) newRequest(ctx context.Context) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, h.method, h.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header = h.headers.Clone()
	if h.host != "" {
		req.Host = h.host
	}
	return req, nil
}

// Check sends one request and judges status, body and certificate.
func (h *httpCheck) Check(ctx context.Context) Result {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(h.timeout)
	}
	return h.CheckBy(ctx, deadline)
}

// CheckBy is Check with the probe's deadline given apart from ctx.
func (h *httpCheck) CheckBy(ctx context.Context, deadline time.Time) Result {
	resp, body, err := h.send(ctx, deadline)
	if err != nil {
		return errorResult(ctx, err, h.timeout)
	}
	status := statusText(resp.code)
	if !h.status.Contains(resp.code) {
		return fail(ClassStatus, status)
	}
	if h.body != "" && !strings.Contains(string(body), h.body) {
		return notContains("body", h.body)
	}
	if h.re != nil && !h.re.Match(body) {
		return fail(ClassContent, fmt.Sprintf("body does not match /%s/", h.re))
	}
	if h.minDays > 0 && resp.tls != nil && len(resp.tls.PeerCertificates) > 0 {
		if r, bad := expiry(resp.tls.PeerCertificates[0], h.minDays, h.now()); bad {
			return r
		}
	}
	return ok(status)
}

// send performs the request and reads as much of the body as the check
// needs.
func (h *httpCheck) send(ctx context.Context, deadline time.Time) (probeResponse, []byte, error) {
	var limit int64
	if h.body != "" || h.re != nil {
		limit = maxBody
	}
	if h.client == nil {
		return h.do(ctx, deadline, limit)
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	req, err := h.newRequest(ctx)
	if err != nil {
		return probeResponse{}, nil, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return probeResponse{}, nil, err
	}
	defer resp.Body.Close()
	body, err := readBody(resp.Body, limit)
	if err != nil {
		return probeResponse{}, nil, fmt.Errorf("reading body: %w", err)
	}
	return probeResponse{code: resp.StatusCode, tls: resp.TLS}, body, nil
}

// tlsConfig builds the client TLS settings of an https or tls check:
// verification on unless insecure_skip_verify, roots from the spec's
// inline ca_pem when given (instead of the system's), SNI from sni or the
// host header.
func tlsConfig(c *spec.Check) (*tls.Config, error) {
	cfg := &tls.Config{
		ServerName:         c.SNI,
		InsecureSkipVerify: c.InsecureSkipVerify, //nolint:gosec // explicit opt-in in the spec
		MinVersion:         tls.VersionTLS12,
	}
	if cfg.ServerName == "" && c.Host != "" {
		cfg.ServerName = c.Host
		if h, _, err := net.SplitHostPort(c.Host); err == nil {
			cfg.ServerName = h
		}
	}
	if c.CAPEM != "" {
		// The bundle travels in the spec (ca_pem; the CLI inlines
		// ca_file): every node builds the same roots, reading no file.
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(c.CAPEM)) {
			return nil, fmt.Errorf("%w: ca_pem holds no PEM certificate", ErrCheckConfig)
		}
		cfg.RootCAs = pool
	} else if !c.InsecureSkipVerify {
		// Load the system roots now rather than inside the first probe,
		// whose timeout they could eat.
		if pool, err := x509.SystemCertPool(); err == nil {
			cfg.RootCAs = pool
		}
	}
	return cfg, nil
}

// expiry fails a certificate that expires within minDays days.
func expiry(cert *x509.Certificate, minDays int, now time.Time) (Result, bool) {
	left := cert.NotAfter.Sub(now)
	if left >= time.Duration(minDays)*24*time.Hour {
		return Result{}, false
	}
	if left <= 0 {
		return fail(ClassExpiry, fmt.Sprintf("certificate expired %s ago", days(-left))), true
	}
	return fail(ClassExpiry, "certificate expires in "+days(left)), true
}

// days writes a duration as whole days, or hours when under two days.
func days(d time.Duration) string {
	switch h := int(d / time.Hour); {
	case h >= 48:
		return fmt.Sprintf("%d days", h/24)
	case h == 1:
		return "1 hour"
	case h > 1:
		return fmt.Sprintf("%d hours", h)
	default:
		return fmt.Sprintf("%d minutes", int(d/time.Minute))
	}
}
