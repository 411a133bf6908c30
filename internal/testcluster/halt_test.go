package testcluster

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/spec"
)

// poison is the author whose spec makes every node's apply panic, as a
// valid spec that ran every node out of memory at apply did.
const poison = "poison"

func poisonHook(m *Member, cfg *node.Config) {
	cfg.ApplyHook = func(c *controller.Command) {
		if c.Type == controller.CmdSetSpec && c.Spec != nil && strings.HasPrefix(c.Spec.Author, poison) { // "poison via us-west-1" when forwarded
			panic("runtime: out of memory (simulated)")
		}
	}
}

// A valid spec whose apply fails on every node used to crash-loop the
// whole cluster: each restart replayed it and died again, so it could
// not be reverted. Now every node halts at that entry: it stays up,
// answers DNS from its last state, is not ready with the reason, counts
// it in /metrics, refuses writes with a retryable 503; a restart halts
// it again instead of crashing; restarting with the entry skipped
// repairs it.
func TestUnapplicableEntryHaltsNotCrashLoops(t *testing.T) {
	c := New(t, Options{Configure: poisonHook})
	text := strings.Replace(c.Spec, "pools: [web-us-east, web-us-west, web-eu-west]", "pools: [web-eu-west, web-us-west, web-us-east]", 1)
	err := c.Propose(c.Member("us-west"), setSpec(t, text, poison))
	if !errors.Is(err, controller.ErrHalted) {
		t.Fatalf("the poisoned spec: %v, want ErrHalted", err)
	}
	index := waitHalted(t, c)
	for _, m := range c.Members {
		checkHaltedNode(t, c, m, index)
	}

	// A restart replays the entry: the node halts again, it does not die.
	again := c.Member("eu-west")
	c.StopNode(again)
	c.Restart(again, nil)
	if got := waitHalted(t, c); got != index {
		t.Fatalf("after a restart the node halted at %d, first at %d", got, index)
	}
	checkHaltedNode(t, c, again, index)

	// The repair: every node restarted with the entry skipped.
	for _, m := range c.Members {
		c.StopNode(m)
	}
	for _, m := range c.Members {
		c.RestartWith(m, nil, func(cfg *node.Config) { cfg.SkipEntries = []uint64{index} })
	}
	for _, m := range c.Members {
		waitReadyCode(t, m, http.StatusOK, 30*time.Second)
		if got := c.Answer(m); got != Answers["us-east"] {
			t.Errorf("%s answers %s after the repair, want %s (the poisoned spec skipped)", m.ID, got, Answers["us-east"])
		}
	}
	if err := c.Propose(c.Member("us-west"), setSpec(t, text, "fixed")); err != nil {
		t.Fatalf("the same change by another author after the repair: %v", err)
	}
	for _, m := range c.Members {
		c.WaitAnswer(m, Answers["eu-west"], 10*time.Second)
	}
	c.CheckInvariants()
}

// waitHalted waits until every live node's state machine halted, at the
// same entry, and returns its index.
func waitHalted(t *testing.T, c *Cluster) uint64 {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var at []uint64
		for _, m := range c.Live() {
			if h := m.Node.Store().FSM().Halted(); h != nil {
				at = append(at, h.Index)
			}
		}
		if len(at) == len(c.Live()) {
			for _, i := range at[1:] {
				if i != at[0] {
					t.Fatalf("the nodes halted at different entries: %v", at)
				}
			}
			return at[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d nodes halted within 15s", len(at), len(c.Live()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkHaltedNode checks what a halted node shows the world.
func checkHaltedNode(t *testing.T, c *Cluster, m *Member, index uint64) {
	t.Helper()
	if got := c.Answer(m); got != Answers["us-east"] {
		t.Errorf("halted %s answers %s, want its last answer %s", m.ID, got, Answers["us-east"])
	}
	code, body := waitReadyCode(t, m, http.StatusServiceUnavailable, 15*time.Second)
	if want := fmt.Sprintf("halted at entry %d", index); !strings.Contains(body, want) || !strings.Contains(body, "--skip-entry") {
		t.Errorf("%s /v1/ready: %d %s; want the reason (%q) and the repair", m.ID, code, body, want)
	}
	if _, metrics, _ := get(t, m, "/metrics"); !strings.Contains(metrics, "detour_state_machine_halted 1") {
		t.Errorf("%s /metrics does not say it halted", m.ID)
	}
	code, body = postDrain(t, m, "us-west", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "halted") {
		t.Errorf("a drain on halted %s: %d %s; want 503 saying it halted", m.ID, code, body)
	}
}

// waitReadyCode polls m's /v1/ready until it answers code.
func waitReadyCode(t *testing.T, m *Member, code int, timeout time.Duration) (int, string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got, body, _ := get(t, m, "/v1/ready")
		if got == code {
			return got, body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s /v1/ready answers %d %s, want %d (waited %s)", m.ID, got, body, code, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get fetches path from m's API.
func get(t *testing.T, m *Member, path string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get("http://" + m.Node.APIAddr() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), resp.Header
}

// setSpec is the command that applies spec text.
func setSpec(t *testing.T, text, author string) *controller.Command {
	t.Helper()
	s, err := spec.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	yaml, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return &controller.Command{Type: controller.CmdSetSpec, Spec: &controller.SetSpec{YAML: yaml, Author: author}}
}

// When only one node cannot apply an entry (its own trouble: memory, an
// older binary), the others go on; the halted one is not ready and keeps
// its last answers, and once the cause is fixed a plain restart applies
// the entry and catches up with the others.
func TestOneNodeHaltsThenCatchesUp(t *testing.T) {
	var broken atomic.Bool
	broken.Store(true)
	c := New(t, Options{Configure: func(m *Member, cfg *node.Config) {
		if m.DC != "eu-west" {
			return
		}
		cfg.ApplyHook = func(c *controller.Command) {
			if broken.Load() && c.Type == controller.CmdSetSpec && strings.HasPrefix(c.Spec.Author, "alice") { // "alice via ..." when forwarded
				panic("runtime: out of memory (simulated, this node only)")
			}
		}
	}})
	sick := c.Member("eu-west")
	text := strings.Replace(c.Spec, "pools: [web-us-east, web-us-west, web-eu-west]", "pools: [web-us-west, web-us-east, web-eu-west]", 1)
	if err := c.Propose(c.Member("us-east"), setSpec(t, text, "alice")); err != nil && !errors.Is(err, controller.ErrHalted) {
		t.Fatal(err)
	}
	for _, m := range c.Members {
		if m != sick {
			c.WaitAnswer(m, Answers["us-west"], 10*time.Second)
		}
	}
	waitReadyCode(t, sick, http.StatusServiceUnavailable, 10*time.Second)
	if got := c.Answer(sick); got != Answers["us-east"] {
		t.Errorf("the halted node answers %s, want its last answer %s", got, Answers["us-east"])
	}
	broken.Store(false) // the cause fixed
	c.StopNode(sick)
	c.Restart(sick, nil)
	waitReadyCode(t, sick, http.StatusOK, 30*time.Second)
	c.WaitAnswer(sick, Answers["us-west"], 10*time.Second)
	c.CheckInvariants()
}
