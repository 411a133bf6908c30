package api_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
)

// An attacker guesses tokens from 127.0.0.1 (the audit guessed the
// admin token `7` in 7 requests). After DefaultAuthFailures unknown
// tokens it gets 429 with Retry-After, even for the right token, and
// /metrics counts each failure; an operator at 127.0.0.2 is not
// affected.
func TestBruteForceIsLimitedPerSource(t *testing.T) {
	_, base := startNode(t, specText(t), testTokens())
	attacker := clientFrom(t, "127.0.0.1")
	operator := clientFrom(t, "127.0.0.2")
	for i := range api.DefaultAuthFailures {
		code, hdr, body := fetch(t, attacker, "GET", base+"/v1/status", strconv.Itoa(i))
		if code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401: %s", i, code, body)
		}
		if hdr.Get("Retry-After") != "" {
			t.Fatalf("guess %d already carries Retry-After", i)
		}
	}
	for _, c := range []struct{ name, method, path, token string }{
		{"another guess", "GET", "/v1/status", "7"},
		{"the right token", "GET", "/v1/status", tokAdmin},
		{"a write", "POST", "/v1/overrides/drain", tokOperate},
	} {
		code, hdr, body := fetch(t, attacker, c.method, base+c.path, c.token)
		secs, err := strconv.Atoi(hdr.Get("Retry-After"))
		if code != http.StatusTooManyRequests || err != nil || secs < 1 || secs > int(api.DefaultAuthWindow/time.Second) {
			t.Errorf("%s from the failing source: %d, Retry-After %q: %s", c.name, code, hdr.Get("Retry-After"), body)
		}
	}
	// /v1/ready tells a limited source nothing more than anyone.
	if code, _, body := fetch(t, attacker, "GET", base+"/v1/ready", tokRead); code != 200 || strings.Contains(body, "freshness") {
		t.Errorf("ready with a token from the limited source: %d %s", code, body)
	}

	if code, _, body := fetch(t, operator, "GET", base+"/v1/status", tokRead); code != 200 {
		t.Fatalf("a good token from another source: %d %s", code, body)
	}
	if code, _, body := fetch(t, operator, "POST", base+"/v1/overrides/drain", tokOperate); code != 400 {
		t.Fatalf("a write from another source reaches the handler (400 for its empty body): %d %s", code, body)
	}
	_, _, metrics := fetch(t, operator, "GET", base+"/metrics", tokRead)
	for reason, want := range map[string]string{"unknown_token": fmt.Sprint(api.DefaultAuthFailures), "rate_limited": "[3-9]"} {
		re := regexp.MustCompile(`(?m)^detour_api_auth_failures_total\{reason="` + reason + `"\} (\d+)$`)
		m := re.FindStringSubmatch(metrics)
		if m == nil || !regexp.MustCompile("^"+want+"$").MatchString(m[1]) {
			t.Errorf("detour_api_auth_failures_total{reason=%q}: %v, want %s", reason, m, want)
		}
	}
}

// clientFrom is an HTTP client whose connections leave from ip.
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

// fetch sends a request with a bearer token (JSON type, empty body for
// writes) and returns the status, headers and body.
func fetch(t *testing.T, c *http.Client, method, url, token string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if method != "GET" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
