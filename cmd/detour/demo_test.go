package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/demo"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// `detour demo down|up` steer a running demo through its controls, and
// the client commands see the datacenter go and come back.
func TestDemoCommands(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, err := demo.Start(ctx, demo.Options{Interval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	control := "http://" + d.ControlAddr()
	code, out := runCLI("demo", "down", "us-east", "--control", control)
	if code != 0 || !strings.Contains(out, "us-east is down") || !strings.Contains(out, "us-east DOWN, us-west up, eu-west up") {
		t.Fatalf("demo down: %s", out)
	}
	t.Setenv("DETOUR_API", "http://"+d.APIAddr("us-west"))
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, out = runCLI("status")
		if code == 0 && strings.Contains(out, "www.example.test. A → "+demo.Answers["us-west"]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed the failover to us-west:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(out, "datacenter us-east: DOWN") {
		t.Errorf("status should show us-east down:\n%s", out)
	}
	code, out = runCLI("demo", "up", "us-east", "--control", control)
	if code != 0 || !strings.Contains(out, "us-east up, us-west up, eu-west up") {
		t.Fatalf("demo up: %s", out)
	}
	code, out = runCLI("demo", "down", "mars", "--control", control)
	if code != 1 || !strings.Contains(out, "no such datacenter") {
		t.Errorf("demo down mars: %s", out)
	}
	code, out = runCLI("demo", "down", "us-east", "--control", "http://127.0.0.1:1")
	if code != 1 || !strings.Contains(out, "is `detour demo` running?") {
		t.Errorf("no demo: %s", out)
	}
}

// `detour demo` itself: it prints the commands to query each node and
// to take a datacenter down; they work as printed; Ctrl-C stops it.
func TestDemoCommandPrintsWhatWorks(t *testing.T) {
	t.Setenv("DETOUR_DEMO_PORTS", "0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- runContext(ctx, []string{"demo"}, &stdout, &stderr) }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stdout.String(), "Ctrl-C") {
		if time.Now().After(deadline) {
			t.Fatalf("the demo printed no instructions:\n%s\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	text := stdout.String()
	var digs []string
	var control string
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == "dig" {
			digs = append(digs, strings.TrimPrefix(f[1], "@")+":"+f[3])
		}
		if i := strings.Index(line, "--control "); i >= 0 && control == "" {
			control = strings.Fields(line[i+len("--control "):])[0]
		}
	}
	if len(digs) != 3 || control == "" {
		t.Fatalf("want three dig lines and the control URL:\n%s", text)
	}
	for _, addr := range digs {
		if got := demo.Query(addr, "www.example.test"); got != demo.Answers["us-east"] {
			t.Errorf("%s answers %q, want %s", addr, got, demo.Answers["us-east"])
		}
	}
	if code, out := runCLI("demo", "down", "us-east", "--control", control); code != 0 {
		t.Fatalf("demo down as printed: %s", out)
	}
	testutil.Eventually(t, "eu-west's node to answer us-west", 20*time.Second, func() bool {
		return demo.Query(digs[2], "www.example.test") == demo.Answers["us-west"]
	})
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("demo exited %d: %s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the demo did not stop when interrupted")
	}
}
