package controller

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// stallSpec is a spec of n failover records, each over a pool of one
// endpoint in each of three datacenters, with the given TTL.
func stallSpec(n int, ttl uint32) []byte {
	var b strings.Builder
	b.WriteString(`zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
datacenters: [{name: d0}, {name: d1}, {name: d2}]
checks:
  - {name: c, type: tcp, port: 80}
pools:
`)
	for i := range n {
		for d := range 3 {
			fmt.Fprintf(&b, "  - {name: r%d-%d, datacenter: d%d, check: c, endpoints: [{address: %s}]}\n", i, d, d, stallAddr(d, i))
		}
	}
	b.WriteString("records:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {name: r%d.example.test, type: A, ttl: %d, pools: [r%d-0, r%d-1, r%d-2]}\n", i, ttl, i, i, i)
	}
	return []byte(b.String())
}

func stallAddr(d, i int) string { return fmt.Sprintf("10.%d.%d.%d", d+1, i/256, i%256) }

// A failover does not wait for a snapshot of a big state, nor for a
// big spec being applied: with 10,000 records and three observers'
// verdicts on 30,000 endpoints, taking a snapshot does not take the
// FSM's lock (it reads the published view), so the report that moves a
// record applies while the snapshot is written; and the report applied
// right behind a new spec's activation (every record decided again)
// costs less than that activation: it decides only the record it moved,
// where every report used to decide every record. The bounds are
// generous (the machine may be loaded): they fail on a stall.
func TestFailoverNotStalledBySnapshotOrSpecApply(t *testing.T) {
	records := 10_000
	if testutil.Race || testing.Short() {
		records = 2_000
	}
	const bound = 10 * time.Second // a stall, on a machine however loaded
	f := testFSM(t)
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	index := uint64(0)
	apply := func(c *Command) time.Duration {
		t.Helper()
		index++
		start := time.Now()
		if resp := f.Apply(fsmLog(t, index, t0.Add(time.Duration(index)*time.Millisecond), c)); isErr(resp) {
			t.Fatalf("%s: %v", c.Type, resp)
		}
		return time.Since(start)
	}
	setSpec := func(y []byte) time.Duration {
		apply(&Command{Type: CmdSetSpec, Spec: &SetSpec{YAML: y}})
		sg := f.View().Staged()
		for j, wait := f.compileDone(sg.Index); j == nil; j, wait = f.compileDone(sg.Index) {
			<-wait
		}
		return apply(&Command{Type: CmdActivateSpec, Activate: &ActivateSpec{Index: sg.Index}})
	}
	setSpec(stallSpec(records, 30))
	for _, id := range []string{"n1", "n2", "n3"} {
		apply(&Command{Type: CmdRegisterMember, Member: &Member{ID: id}})
		r := &ObserverReport{Observer: id}
		for i := range records {
			for d := range 3 {
				r.Changes = append(r.Changes, VerdictChange{Pool: fmt.Sprintf("r%d-%d", i, d), Address: stallAddr(d, i), Up: true})
			}
		}
		apply(&Command{Type: CmdObserverReport, Report: r})
	}
	// failover reports record i's first pool down by a majority and
	// says how long the reports took to apply.
	failover := func(i int) time.Duration {
		var took time.Duration
		for _, id := range []string{"n1", "n2"} {
			took += apply(&Command{Type: CmdObserverReport, Report: &ObserverReport{Observer: id,
				Changes: []VerdictChange{{Pool: fmt.Sprintf("r%d-0", i), Address: stallAddr(0, i), Up: false, Reason: "refused"}}}})
		}
		name := fmt.Sprintf("r%d.example.test.", i)
		for _, d := range f.Decisions() {
			if d.Name == name && d.Pool != fmt.Sprintf("r%d-1", i) {
				t.Fatalf("%s answers %s, want pool r%d-1", name, d.Phrase(), i)
			}
		}
		return took
	}

	// The snapshot: taken while the lock is held (an apply running), it
	// does not wait; written while reports apply, it holds none of them.
	snapped := make(chan error, 1)
	var snap raft.FSMSnapshot
	f.mu.Lock()
	go func() {
		var err error
		snap, err = f.Snapshot()
		snapped <- err
	}()
	select {
	case err := <-snapped:
		f.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		f.mu.Unlock()
		t.Fatal("Snapshot waited for the FSM's lock")
	}
	at := f.AppliedIndex()
	var wg sync.WaitGroup
	sink := &memSink{}
	var persistTook time.Duration
	wg.Go(func() {
		start := time.Now()
		if err := snap.Persist(sink); err != nil {
			t.Error(err)
		}
		persistTook = time.Since(start)
	})
	if took := failover(1); took > bound {
		t.Errorf("the failover took %v to apply while a snapshot was written, want under %v", took, bound)
	}
	wg.Wait()
	restored := testFSM(t)
	if err := restored.Restore(io.NopCloser(bytes.NewReader(sink.buf.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if restored.AppliedIndex() != at {
		t.Errorf("the snapshot restored at index %d, taken at %d", restored.AppliedIndex(), at)
	}

	// The spec: a failover applied right behind the activation of a
	// new spec (every record's TTL changed) waits for that one entry,
	// and applies in a fraction of it.
	activate := setSpec(stallSpec(records, 31))
	report := failover(2)
	if report > bound || report > activate {
		t.Errorf("the failover behind a spec's activation took %v to apply, the activation (every record decided again) %v: want less than that, and under %v", report, activate, bound)
	}
	t.Logf("%d records: snapshot of %d KiB written in %v; activation %v, failover report %v", records, sink.buf.Len()>>10, persistTook, activate, report)
}
