package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testcluster"
)

// The CLI pointed at a follower prints the state after each change, on
// links slow enough that the follower trails the leader on every write:
// drain, undrain, failover and its release show the answers they made,
// spec apply the version it made, incident open the incident it opened.
func TestCLIThroughFollowerPrintsTheAfterState(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{})
	var f *testcluster.Member
	for _, m := range c.Members {
		if m != c.Leader() {
			f = m
		}
	}
	c.Faults.SetDelay(15 * time.Millisecond)
	defer c.Faults.SetDelay(0)
	api := "--api=http://" + f.Node.APIAddr()
	www := func(dc string) string { return "www.example.test. A → " + testcluster.Answers[dc] + " " }
	_, version := c.Leader().Node.Store().FSM().Spec()
	dir := t.TempDir()
	for round := range 2 {
		specFile := filepath.Join(dir, fmt.Sprintf("spec%d.yaml", round))
		text := strings.Replace(c.Spec, "docs  300 IN CNAME www", fmt.Sprintf("docs  300 IN CNAME www\n      round%d IN A 192.0.2.%d", round, 100+round), 1)
		if text == c.Spec {
			t.Fatal("the test cluster's spec has no docs CNAME to add a record after")
		}
		if err := os.WriteFile(specFile, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		version++
		for _, step := range []struct {
			args []string
			want string
		}{
			{[]string{"drain", "us-east", "--reason", "cli test"}, www("us-west")},
			{[]string{"undrain", "us-east"}, www("us-east")},
			{[]string{"failover", "www.example.test", "--to", "web-eu-west", "--reason", "cli test"}, www("eu-west")},
			{[]string{"failover", "www.example.test", "--release"}, www("us-east")},
			{[]string{"spec", "apply", specFile}, fmt.Sprintf("as spec version %d\n", version)},
			{[]string{"incident", "open", "--title", "cli test"}, "opened incident "},
		} {
			var stdout, stderr bytes.Buffer
			code := run(append(step.args, api), &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != 0 || !strings.Contains(out, step.want) || strings.Contains(out, "not applied the change yet") {
				t.Errorf("round %d: detour %s against follower %s: exit %d, want 0 printing %q:\n%s", round, strings.Join(step.args, " "), f.ID, code, step.want, out)
			}
		}
	}
}
