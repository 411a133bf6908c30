package main

import (
	"bytes"
	"strings"
	"testing"
)

// The incident commands against a dev node: open with an ETA, update,
// resolve; usage errors exit 2, refusals exit 1.
func TestIncidentCommands(t *testing.T) {
	cliNode(t)
	for _, step := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"incident", "open", "--message", "no title"}, 2, "--title is required"},
		{[]string{"incident", "open", "--title", "Website degraded", "--message", "us-east lost power", "--eta", "2h"}, 0, "opened incident 1: Website degraded"},
		{[]string{"incident", "update", "1"}, 2, "--message (or --eta) is required"},
		{[]string{"incident", "update", "1", "--message", "Traffic is on us-west.", "--eta", "45m"}, 0, "updated incident 1"},
		{[]string{"incident", "update", "7", "--message", "x"}, 1, "no incident"},
		{[]string{"incident", "list"}, 0, "Traffic is on us-west."},
		{[]string{"incident", "resolve", "1", "--message", "Power is back."}, 0, "resolved incident 1"},
		{[]string{"incident", "resolve", "1"}, 1, "already resolved"},
		{[]string{"incident", "list", "--json"}, 0, `"status": "resolved"`},
	} {
		var stdout, stderr bytes.Buffer
		code := run(step.args, &stdout, &stderr)
		out := stdout.String() + stderr.String()
		if code != step.code || !strings.Contains(out, step.want) {
			t.Errorf("detour %s: exit %d, want %d with %q:\n%s", strings.Join(step.args, " "), code, step.code, step.want, out)
		}
	}
}
