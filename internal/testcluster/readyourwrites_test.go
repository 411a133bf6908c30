package testcluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/node"
)

// follower returns a member that does not lead.
func follower(t *testing.T, c *Cluster) *Member {
	t.Helper()
	lead := c.Leader()
	for _, m := range c.Live() {
		if m != lead {
			return m
		}
	}
	t.Fatal("no follower")
	return nil
}

// callAPI sends body as JSON to m's API and decodes the reply into out
// when it is 200; it returns the status and the raw reply.
func callAPI(t *testing.T, m *Member, method, path string, body, out any) (int, string) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, "http://"+m.Node.APIAddr()+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusOK && out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, string(raw)
}

// www is what a reply's records say www.example.test answers.
func www(recs []api.RecordStatus) string {
	for _, r := range recs {
		if r.Name == "www.example.test." && r.Type == "A" {
			return strings.Join(r.Answers, ",")
		}
	}
	return "none"
}

// A drain, undrain, pin, release or spec apply sent to a follower used to
// answer from the follower's state before the change (the demo's "drain
// then undrain: us-east is not drained", exit 1). Each reply now shows
// the state after its change, and says at which index. The links are
// slowed so that a follower trails the leader on every write: a reply
// that did not wait would show the state before it.
func TestFollowerRepliesShowTheirWrite(t *testing.T) {
	c := New(t, Options{})
	f := follower(t, c)
	c.Faults.SetDelay(15 * time.Millisecond)
	defer c.Faults.SetDelay(0)

	step := func(path string, body any, want string) {
		t.Helper()
		var res api.OverrideResult
		code, raw := callAPI(t, f, http.MethodPost, path, body, &res)
		if code != http.StatusOK {
			t.Fatalf("%s through follower %s: %d %s", path, f.ID, code, raw)
		}
		if got := www(res.Records); got != want {
			t.Errorf("%s through follower %s: the reply shows www → %s, want %s (the state after the change); %s", path, f.ID, got, want, res.Message)
		}
		if res.WriteIndex == 0 || res.Index < res.WriteIndex {
			t.Errorf("%s: the reply shows index %d, the write is %d", path, res.Index, res.WriteIndex)
		}
	}
	for round := range 4 {
		reason := fmt.Sprintf("round %d", round)
		step("/v1/overrides/drain", api.DrainRequest{Target: "us-east", Reason: reason}, Answers["us-west"])
		step("/v1/overrides/undrain", api.DrainRequest{Target: "us-east"}, Answers["us-east"])
		step("/v1/overrides/pin", api.PinRequest{Record: "www.example.test", Pool: "web-eu-west", Reason: reason}, Answers["eu-west"])
		step("/v1/overrides/release", api.PinRequest{Record: "www.example.test"}, Answers["us-east"])
	}

	_, version := c.Leader().Node.Store().FSM().Spec()
	for round := range 4 {
		text := strings.Replace(c.Spec, "docs  300 IN CNAME www", fmt.Sprintf("docs  300 IN CNAME www\n      round%d IN A 192.0.2.%d", round, 100+round), 1)
		if text == c.Spec {
			t.Fatal("the test cluster's spec has no docs CNAME to add a record after")
		}
		var res api.SpecResponse
		code, raw := callAPI(t, f, http.MethodPut, "/v1/spec", api.SpecRequest{YAML: text, IfVersion: version}, &res)
		if code != http.StatusOK {
			t.Fatalf("spec apply %d through follower %s: %d %s", round, f.ID, code, raw)
		}
		if res.Version != version+1 || !res.Changed {
			t.Errorf("spec apply %d over version %d: the reply says version %d (changed %v), want %d", round, version, res.Version, res.Changed, version+1)
		}
		version = res.Version
		var now api.SpecResponse
		if code, raw := callAPI(t, f, http.MethodGet, "/v1/spec", nil, &now); code != http.StatusOK || now.Version != version || now.Index < res.Index {
			t.Errorf("GET /v1/spec on %s right after the apply: %d version %d index %d, want version %d at index %d or later (%.200s)", f.ID, code, now.Version, now.Index, version, res.Index, raw)
		}
	}
}

// Two incidents opened at the same moment with the same title, through a
// follower, are two incidents: each caller is told its own, as the
// cluster numbered it (not guessed from the title on the local replica).
func TestConcurrentIncidentsGetTheirOwnIDs(t *testing.T) {
	c := New(t, Options{})
	f := follower(t, c)
	c.Faults.SetDelay(10 * time.Millisecond)
	defer c.Faults.SetDelay(0)
	const n = 4
	results := make([]api.IncidentResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			code, raw := callAPI(t, f, http.MethodPost, "/v1/incidents", api.IncidentRequest{Title: "Checkout is down", Message: fmt.Sprintf("caller %d", i)}, &results[i])
			if code != http.StatusOK {
				t.Errorf("caller %d: %d %s", i, code, raw)
			}
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for i, res := range results {
		if res.ID == "" || res.Incident == nil || res.Incident.ID != res.ID {
			t.Errorf("caller %d: reply %+v names no incident of its own", i, res)
			continue
		}
		if prev, dup := seen[res.ID]; dup {
			t.Errorf("callers %d and %d were both told incident %s", prev, i, res.ID)
		}
		seen[res.ID] = i
		want := fmt.Sprintf("caller %d", i)
		if len(res.Incident.Updates) == 0 || res.Incident.Updates[0].Message != want {
			t.Errorf("caller %d was shown incident %s, which another caller opened (%+v)", i, res.ID, res.Incident.Updates)
		}
		if !strings.Contains(res.Message, "incident "+res.ID) {
			t.Errorf("caller %d: message %q does not name incident %s", i, res.Message, res.ID)
		}
	}
}

// A once-only command that reaches the log twice (a retry after a leader
// change keeps its ID) answers the second time with what the first copy
// did, through a follower as through the leader, and opens one incident.
func TestRetriedCommandReturnsTheFirstResult(t *testing.T) {
	c := New(t, Options{})
	f := follower(t, c)
	cmd := &controller.Command{Type: controller.CmdIncident, ID: "retry-test-1",
		Incident: &controller.IncidentCommand{Action: controller.IncidentActionOpen, Title: "retried"}}
	first, err := c.ProposeResult(f, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if first.Incident == "" || first.Index == 0 || first.Duplicate {
		t.Fatalf("the first copy: %+v", first)
	}
	for _, m := range []*Member{f, c.Leader()} {
		again, err := c.ProposeResult(m, cmd)
		if err != nil {
			t.Fatal(err)
		}
		if again.Index != first.Index || again.Incident != first.Incident || !again.Duplicate {
			t.Errorf("the copy through %s answered %+v, want the first copy's %+v", m.ID, again, first)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	index, err := f.Node.Store().ReadIndex(ctx)
	if err == nil {
		err = f.Node.Store().WaitApplied(ctx, index)
	}
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, inc := range f.Node.Store().FSM().View().Incidents() {
		if inc.Title == "retried" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d incidents titled retried, want 1", n)
	}
}

// An entry of a command type this version does not know (written by a
// newer leader during a rolling upgrade; simulated by renaming one as it
// is applied) halts every replica at that entry with the reason, instead
// of being skipped here and applied there: not ready, counted in
// /metrics, writes refused, last answers kept.
func TestUnknownCommandInTheLogHalts(t *testing.T) {
	c := New(t, Options{Configure: func(_ *Member, cfg *node.Config) {
		cfg.ApplyHook = func(cmd *controller.Command) {
			if cmd.Type == controller.CmdIncident && cmd.Incident != nil && cmd.Incident.Title == "from the future" {
				cmd.Type = "from_a_newer_version"
			}
		}
	}})
	err := c.Propose(c.Member("us-west"), &controller.Command{Type: controller.CmdIncident,
		Incident: &controller.IncidentCommand{Action: controller.IncidentActionOpen, Title: "from the future"}})
	if !errors.Is(err, controller.ErrHalted) {
		t.Fatalf("the entry: %v, want ErrHalted", err)
	}
	index := waitHalted(t, c)
	for _, m := range c.Members {
		checkHaltedNode(t, c, m, index)
		if h := m.Node.Store().FSM().Halted(); !strings.Contains(h.Reason, `unknown command type "from_a_newer_version"`) {
			t.Errorf("%s halted for %q, want the unknown type named", m.ID, h.Reason)
		}
		if _, body, _ := get(t, m, "/v1/ready"); !strings.Contains(body, "unknown command type") {
			t.Errorf("%s /v1/ready does not say why: %s", m.ID, body)
		}
	}
}
