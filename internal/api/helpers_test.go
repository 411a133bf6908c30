package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/node"
)

// Tokens of the tests, one per scope: random, as the node requires
// (at least 128 bits).
const (
	tokRead    = "read-3fee4485afc83991b136cd642f34332e"
	tokOperate = "operate-7c7b0cf72de351c9b9d008c0aae73923"
	tokAdmin   = "admin-433c54d92c275fbf744a75dff70df9f8"
	tokBeat    = "beat-b2756053de0c24a2c880cc045d9c0b55"
)

func testTokens() *api.Tokens {
	t := &api.Tokens{}
	t.Add("reader", api.ScopeRead, tokRead)
	t.Add("oncall", api.ScopeOperate, tokOperate)
	t.Add("deployer", api.ScopeAdmin, tokAdmin)
	t.AddToken(api.Token{Name: "cron", Scope: api.ScopeHeartbeat, Checks: []string{"web"}}, tokBeat)
	return t
}

// siteUp listens on loopback and accepts connections until the test
// ends: a TCP check sees it up.
func siteUp(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// specText is testdata/spec.yaml with the i-th check address (1-based)
// replaced by addrs[i-1] where given.
func specText(t *testing.T, addrs ...string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, a := range addrs {
		s = strings.Replace(s, `"127.0.0.1:1"`, fmt.Sprintf("%q", a), 1)
	}
	return s
}

// startNode runs a dev node (a cluster of one) with the spec and tokens
// and waits until it is ready; it returns the API's base URL.
func startNode(t *testing.T, specYAML string, tokens *api.Tokens) (*node.Node, string) {
	t.Helper()
	return startNodeWith(t, specYAML, tokens, nil)
}

// startNodeWith is startNode with the node's settings changed by edit.
func startNodeWith(t *testing.T, specYAML string, tokens *api.Tokens, edit func(*node.Config)) (*node.Node, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(file, []byte(specYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := node.Config{Dev: true, DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", Spec: file, Tokens: tokens}
	if edit != nil {
		edit(&cfg)
	}
	n, err := node.Start(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	base := "http://" + n.APIAddr()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, _ := call(t, base, "GET", "/v1/ready", "", nil)
		if code == 200 {
			return n, base
		}
		if time.Now().After(deadline) {
			t.Fatal("node not ready within 15s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// call sends a request with an optional bearer token and JSON body (a
// string is sent as is) and returns the status and body.
func call(t *testing.T, base, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil || method != "GET" {
		// As the CLI does: every write says JSON, even an empty one.
		req.Header.Set("Content-Type", "application/json")
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

// getJSON reads a route into v, failing the test unless it answers 200.
func getJSON(t *testing.T, base, path, token string, v any) {
	t.Helper()
	code, body := call(t, base, "GET", path, token, nil)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
}

// snapshot is what a refused request must leave unchanged.
func snapshot(t *testing.T, base string) string {
	t.Helper()
	var ov api.OverridesResponse
	getJSON(t, base, "/v1/overrides", tokRead, &ov)
	var sp api.SpecResponse
	getJSON(t, base, "/v1/spec", tokRead, &sp)
	var ms api.MembersResponse
	getJSON(t, base, "/v1/members", tokRead, &ms)
	b, _ := json.Marshal([]any{ov.Overrides, sp.Version, ms.Members})
	return string(b)
}
