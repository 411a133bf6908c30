package statuspage

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/spec"
)

// The page is rendered once per change of the state, whatever the
// number of requests: a quiet store renders once for 50 requests, and
// again after one change.
func TestRenderedOncePerChange(t *testing.T) {
	s, err := spec.Parse([]byte(`zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: |
      ns1 IN A 127.0.0.1
records: []
`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := controller.OpenStore(controller.StoreConfig{
		NodeID: "n1", Datacenter: "dc", RaftAddr: "127.0.0.1:0", DataDir: filepath.Join(t.TempDir(), "n1"),
		Timing: controller.Timing{HeartbeatTimeout: 300 * time.Millisecond, ElectionTimeout: 300 * time.Millisecond,
			LeaderLeaseTimeout: 150 * time.Millisecond, CommitTimeout: 10 * time.Millisecond, StaleAfter: time.Hour},
		Seed: s, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for sp, _ := st.FSM().Spec(); sp == nil || !st.IsLeader(); sp, _ = st.FSM().Spec() {
		if time.Now().After(deadline) {
			t.Fatal("no leader with the spec")
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv := New(Options{State: st.FSM()})
	web := httptest.NewServer(srv.Handler())
	t.Cleanup(web.Close)
	get := func() {
		for _, path := range []string{"/", "/status.json", "/feed.atom"} {
			resp, err := http.Get(web.URL + path)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("GET %s: %v %v", path, err, resp)
			}
			resp.Body.Close()
		}
	}
	changes := countChanges(t, st.FSM())
	for range 50 {
		get()
	}
	if n, c := srv.renders.Load(), changes(); n > 1+c {
		t.Fatalf("%d renders for 150 requests and %d changes", n, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := st.Propose(ctx, &controller.Command{Type: controller.CmdIncident, Incident: &controller.IncidentCommand{Action: "open", Title: "t"}}); err != nil {
		t.Fatal(err)
	}
	before := srv.renders.Load()
	for range 50 {
		get()
	}
	if n, c := srv.renders.Load(), changes(); n == before || n > 1+c {
		t.Fatalf("%d renders for 300 requests and %d changes (one an incident)", n, c)
	}
}

// countChanges counts the state's changes from now: the times its
// change channel closed.
func countChanges(t *testing.T, r Reader) func() uint64 {
	var n atomic.Uint64
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	ch := r.Changed()
	go func() {
		for {
			select {
			case <-ch:
				n.Add(1)
				ch = r.Changed()
			case <-done:
				return
			}
		}
	}()
	return n.Load
}
