package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
)

// A web page open in an operator's browser attacks a token-less node on
// loopback: a cross-site form or no-cors fetch, a text/plain body, and a
// DNS-rebound name (evil.example resolving to 127.0.0.1, so the page is
// same-origin for the browser). Every one is refused and nothing
// changes; the same drain sent as the CLI sends it succeeds.
func TestBrowserCannotDrainTokenlessNode(t *testing.T) {
	_, base := startNode(t, specText(t), nil)
	drain := `{"target": "us-east", "reason": "pwned"}`
	type hdr map[string]string
	cases := []struct {
		name, method, path, body string
		headers                  hdr
		want                     int
	}{
		{"cross-site fetch", "POST", "/v1/overrides/drain", drain,
			hdr{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403},
		{"same-site other origin", "POST", "/v1/overrides/drain", drain,
			hdr{"Content-Type": "application/json", "Sec-Fetch-Site": "same-site"}, 403},
		{"origin mismatch, no Sec-Fetch-Site", "POST", "/v1/overrides/drain", drain,
			hdr{"Content-Type": "application/json", "Origin": "http://evil.example"}, 403},
		{"cross-site stepdown", "POST", "/v1/members/stepdown", "",
			hdr{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403},
		{"text/plain no-cors body", "POST", "/v1/overrides/drain", drain, hdr{"Content-Type": "text/plain;charset=UTF-8"}, 415},
		{"form body", "POST", "/v1/overrides/drain", "target=us-east", hdr{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"no content type", "POST", "/v1/overrides/drain", drain, nil, 415},
		{"empty write without a type", "DELETE", "/v1/members/dev", "", nil, 415},
		{"rebound host writes", "POST", "/v1/overrides/drain", drain, hdr{"Content-Type": "application/json", "Host": "evil.example:8053"}, 421},
		{"rebound host reads", "GET", "/v1/status", "", hdr{"Host": "evil.example"}, 421},
		{"cross-site heartbeat", "POST", "/v1/heartbeat/web/192.0.2.10", "", hdr{"Sec-Fetch-Site": "cross-site"}, 403},
		// A job's bare `curl -X POST` beat needs no type: it reaches the
		// handler, which refuses it for the check is tcp.
		{"heartbeat without a type", "POST", "/v1/heartbeat/web/192.0.2.10", "", nil, 400},
		{"rebound host, origin matching", "POST", "/v1/overrides/drain", drain,
			hdr{"Content-Type": "application/json", "Host": "evil.example", "Origin": "http://evil.example", "Sec-Fetch-Site": "same-origin"}, 421},
	}
	before := tokenlessState(t, base)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := send(t, base, c.method, c.path, c.body, c.headers)
			if code != c.want {
				t.Fatalf("%d, want %d: %s", code, c.want, body)
			}
			var e api.Error
			if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
				t.Errorf("error body is not {\"error\": ...}: %s", body)
			}
			if after := tokenlessState(t, base); after != before {
				t.Errorf("a refused request changed the state:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	// What the CLI sends, and a same-origin page of the node itself,
	// still work; the own names answer.
	for _, c := range []struct {
		name    string
		headers hdr
	}{
		{"CLI", hdr{"Content-Type": "application/json"}},
		{"same origin", hdr{"Content-Type": "application/json; charset=utf-8", "Sec-Fetch-Site": "same-origin"}},
		{"localhost", hdr{"Content-Type": "application/json", "Host": "localhost:8053"}},
	} {
		t.Run("allowed "+c.name, func(t *testing.T) {
			if code, body := send(t, base, "POST", "/v1/overrides/drain", drain, c.headers); code != 200 {
				t.Fatalf("%d: %s", code, body)
			}
			if !strings.Contains(tokenlessState(t, base), "pwned") {
				t.Fatal("the drain is not in force")
			}
			if code, body := send(t, base, "POST", "/v1/overrides/undrain", `{"target": "us-east"}`, c.headers); code != 200 {
				t.Fatalf("undrain: %d: %s", code, body)
			}
		})
	}
}

// tokenlessState is the overrides and spec version of a node without
// tokens.
func tokenlessState(t *testing.T, base string) string {
	t.Helper()
	var ov api.OverridesResponse
	getJSON(t, base, "/v1/overrides", "", &ov)
	var sp api.SpecResponse
	getJSON(t, base, "/v1/spec", "", &sp)
	b, _ := json.Marshal([]any{ov.Overrides, sp.Version})
	return string(b)
}

// send makes a request with exactly the given headers (Host included)
// and body.
func send(t *testing.T, base, method, path, body string, headers map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// A name the operator gives with Names is the node's own; others are
// still refused.
func TestConfiguredNamesAnswer(t *testing.T) {
	n, _ := startNode(t, specText(t), nil)
	s, err := api.New(api.Options{Store: n.Store(), Names: []string{"Detour.Internal.", "ops.example:8053"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(t.Context()) })
	base := "http://" + s.Addr()
	for host, want := range map[string]int{"detour.internal:8053": 200, "ops.example": 200, "[::1]:8053": 200,
		s.Addr(): 200, "detour.internal.evil.example": 421, "evil.example": 421} {
		if code, body := send(t, base, "GET", "/v1/health", "", map[string]string{"Host": host}); code != want {
			t.Errorf("Host %s: %d, want %d: %s", host, code, want, body)
		}
	}
}
