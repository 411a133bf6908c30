package main

import (
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testcluster"
)

// The 3 a.m. mistake of issue 14, with the CLI against a real
// three-node cluster: after two drains, `drain eu-west` would put www on
// its fallback and is refused, naming it; --dry-run shows it; --force
// proceeds.
func TestDrainGuardAgainstCluster(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{})
	var apis []string
	for _, m := range c.Live() {
		apis = append(apis, "http://"+m.Node.APIAddr())
	}
	t.Setenv("DETOUR_API", strings.Join(apis, ","))
	t.Setenv("DETOUR_TOKEN", "")
	for _, dc := range []string{"us-east", "us-west"} {
		if code, out := runCLI("drain", dc, "--reason", "maintenance"); code != 0 {
			t.Fatalf("drain %s: %s", dc, out)
		}
	}
	// As the operator saw it: every node answers eu-west. (The guard
	// reads the state of the node the request lands on.)
	for _, m := range c.Live() {
		c.WaitAnswer(m, testcluster.Answers["eu-west"], 10*time.Second)
	}
	code, out := runCLI("drain", "eu-west", "--reason", "oops", "--dry-run")
	if code != 1 || !strings.Contains(out, "www.example.test. A: 203.0.113.10 (pool web-eu-west) → 192.0.2.99 FALLBACK  ← would go to its fallback") {
		t.Errorf("dry run: %s", out)
	}
	code, out = runCLI("drain", "eu-west", "--reason", "oops")
	if code != 1 || !strings.Contains(out, "refused: draining eu-west") || !strings.Contains(out, "www.example.test. A: would go to its fallback") {
		t.Fatalf("third drain: %s", out)
	}
	for _, m := range c.Live() {
		if got := c.Answer(m); got != testcluster.Answers["eu-west"] {
			t.Errorf("%s answers %s after the refused drain", m.ID, got)
		}
	}
	code, out = runCLI("drain", "eu-west", "--reason", "oops", "--force")
	if code != 0 || !strings.Contains(out, "(forced: www.example.test. A would go to its fallback)") {
		t.Fatalf("forced drain: %s", out)
	}
	for _, m := range c.Live() {
		c.WaitAnswer(m, testcluster.Fallback, 10*time.Second)
	}
}
