package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/demo"
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
