package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
)

// blackHole is a loopback listener that accepts connections and never
// answers, as a node behind a dropped route or a hung process looks.
func blackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return "http://" + ln.Addr().String()
}

// swallower is a loopback proxy that hands each request to the node at
// target and then goes silent: the write reached the node, the answer
// never reaches the client.
func swallower(t *testing.T, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				body, _ := io.ReadAll(req.Body)
				out, _ := http.NewRequest(req.Method, target+req.URL.RequestURI(), bytes.NewReader(body))
				out.Header = req.Header.Clone()
				if resp, err := http.DefaultClient.Do(out); err == nil {
					resp.Body.Close()
				}
				<-hold
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// A command whose first --api endpoint accepts and never answers
// completes through the second within its --timeout, and says which one
// it skipped and why; alone, the black hole costs the timeout, not 30 s.
func TestClientSkipsBlackHoledEndpoint(t *testing.T) {
	cliNode(t)
	live := os.Getenv("DETOUR_API")
	hole := blackHole(t)
	const timeout = time.Second
	bound := timeout + 5*time.Second // generous: one timeout, then a loopback answer
	for _, args := range [][]string{
		{"status"},
		{"drain", "web-eu-west", "--reason", "first endpoint is dark"},
		{"undrain", "web-eu-west"},
	} {
		start := time.Now()
		code, out := runCLI(append(args, "--api", hole+","+live, "--timeout", timeout.String())...)
		took := time.Since(start)
		if code != 0 {
			t.Fatalf("%v through the second endpoint: %s", args, out)
		}
		if took > bound {
			t.Errorf("%v took %s with a %s timeout", args, took, timeout)
		}
		if !strings.Contains(out, hole+": no answer within 1s (--timeout); trying "+live) {
			t.Errorf("%v does not say it skipped the black hole:\n%s", args, out)
		}
		t.Logf("%v: %s through the second endpoint", args, took.Round(time.Millisecond))
	}
	// DETOUR_API takes the same comma list.
	t.Setenv("DETOUR_API", hole+", "+live)
	if code, out := runCLI("status", "--timeout", "1s"); code != 0 {
		t.Errorf("DETOUR_API list: %s", out)
	}
	// --api repeated is the same list.
	if code, out := runCLI("status", "--api", hole, "--api", live, "--timeout", "1s"); code != 0 {
		t.Errorf("--api repeated: %s", out)
	}
	start := time.Now()
	code, out := runCLI("status", "--api", hole, "--timeout", "1s")
	if took := time.Since(start); code != 1 || took > bound || !strings.Contains(out, "no answer within 1s (--timeout)") {
		t.Errorf("a lone black hole: exit %d after %s:\n%s", code, took, out)
	}
	code, out = runCLI("status", "--api", strings.Replace(live, "http://", "https://", 1))
	if code != 1 || !strings.Contains(out, "it speaks plain HTTP, not HTTPS: use an http:// URL") {
		t.Errorf("https to a plain-HTTP node: exit %d:\n%s", code, out)
	}
	// http:// to an HTTPS node (the Go TLS server's own 400): named, and
	// the next endpoint is tried, as the request never reached the API.
	tlsNode := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsNode.Close()
	plainToTLS := strings.Replace(tlsNode.URL, "https://", "http://", 1)
	code, out = runCLI("status", "--api", plainToTLS+","+live)
	if code != 0 || !strings.Contains(out, plainToTLS+": it speaks HTTPS, not plain HTTP: use an https:// URL") {
		t.Errorf("http to an HTTPS node, then a live one: exit %d:\n%s", code, out)
	}
	code, out = runCLI("status", "--api", hole+",http://127.0.0.1:1", "--timeout", "1s")
	if code != 1 || !strings.Contains(out, "no detour API answered (2 tried)") || !strings.Contains(out, "127.0.0.1:1: connection refused") {
		t.Errorf("every endpoint down: exit %d:\n%s", code, out)
	}
}

// A write whose first node got it and then went silent is sent to the
// next node with the same idempotency key: the cluster applies it once.
func TestClientRetriedWriteAppliesOnce(t *testing.T) {
	cliNode(t)
	live := os.Getenv("DETOUR_API")
	silent := swallower(t, live)
	code, out := runCLI("drain", "web-eu-west", "--reason", "sent twice", "--api", silent+","+live, "--timeout", "1s")
	if code != 0 || !strings.Contains(out, "no answer within 1s") {
		t.Fatalf("drain through the silent node, then the live one: %s", out)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"events", "--json"}, &stdout, &stderr); code != 0 {
		t.Fatalf("events: %s", stderr.String())
	}
	var ev api.EventsResponse
	if err := json.Unmarshal(stdout.Bytes(), &ev); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ev.Events {
		if strings.Contains(e.Message, "drain pool web-eu-west") && strings.Contains(e.Message, "sent twice") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the drain was applied %d times, want once:\n%s", n, stdout.String())
	}
	// Straight to the API: two sends with one key apply once; a
	// malformed key is refused.
	req := func() *http.Request {
		r, _ := http.NewRequest("POST", live+"/v1/overrides/drain", strings.NewReader(`{"target":"web-us-west","reason":"keyed"}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set(api.IdempotencyKeyHeader, "0123456789abcdef0123456789abcdef")
		return r
	}
	for range 2 {
		resp, err := http.DefaultClient.Do(req())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("keyed drain: %s", resp.Status)
		}
	}
	bad := req()
	bad.Header.Set(api.IdempotencyKeyHeader, "short")
	resp, err := http.DefaultClient.Do(bad)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a malformed key: %s, want 400", resp.Status)
	}
	stdout.Reset()
	run([]string{"events", "--json"}, &stdout, &stderr)
	if got := strings.Count(stdout.String(), "drain pool web-us-west by local: keyed"); got != 1 {
		t.Errorf("two sends with one key applied %d times, want once", got)
	}
}

// events --follow streams from the endpoint that answered, past a
// black-holed first one.
func TestEventsFollowSkipsBlackHole(t *testing.T) {
	cliNode(t)
	live := os.Getenv("DETOUR_API")
	t.Setenv("DETOUR_API", blackHole(t)+","+live)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runContext(ctx, []string{"events", "--follow", "--limit", "1", "--timeout", "1s"}, &stdout, &stderr)
	}()
	deadline := time.Now().Add(20 * time.Second)
	// The listing before the stream: one event, through the second
	// endpoint.
	for stdout.String() == "" {
		if time.Now().After(deadline) {
			t.Fatalf("events printed nothing: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // let the stream connect; a drain before it is caught up anyway
	if code, out := runCLI("drain", "web-eu-west", "--reason", "followed past", "--api", live); code != 0 {
		t.Fatalf("drain: %s", out)
	}
	for !strings.Contains(stdout.String(), "drain pool web-eu-west by local: followed past") {
		if time.Now().After(deadline) {
			t.Fatalf("events --follow did not print the drain:\n%s\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("events --follow did not stop when interrupted")
	}
}
