package testcluster

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/spec"
)

// Region is a cluster's worth of services for a region-wide failure:
// Records failover records r0..rN.example.test, each with its own endpoint
// in every datacenter (a pool per record and datacenter), each endpoint
// checked over real HTTP on loopback. A datacenter's endpoints share one
// HTTP server, so that they all die at once; the servers run in a helper
// process (region_endpoints.go), apart from the nodes.
type Region struct {
	Records  int
	Interval time.Duration
	Fall     int
	ep       *endpoints
	// keepAlive is whether the check keeps its connections (when the
	// open-file limit allows).
	keepAlive bool
}

// NewRegion starts the endpoints of records records in every datacenter.
func NewRegion(t testing.TB, records int, interval time.Duration, fall int) *Region {
	t.Helper()
	r := &Region{Records: records, Interval: interval, Fall: fall}
	// Every endpoint of a datacenter is checked at that datacenter's one
	// listener: each still has its own probes and, with keep_alive, its
	// own connection from every node (9 descriptors per record at three
	// nodes in this process, as many in the endpoints' process), but not
	// a listener of its own, so 1,000 records fit under a common limit
	// of 20,000 open files. Past the limit the checks open a connection
	// per probe (the default) instead.
	files := uint64(9*records + 1024)
	r.keepAlive = raiseFileLimit(files) == nil
	if !r.keepAlive {
		if err := raiseFileLimit(uint64(1024)); err != nil {
			t.Fatalf("%d records need %d open files: %v", records, 1024, err)
		}
		t.Logf("%d records: the open-file limit is too low for kept connections; a connection per probe", records)
		files = 1024
	}
	r.ep = startEndpoints(t, files)
	return r
}

// Close stops the endpoints' process (t's cleanup does too; a benchmark's
// trials should not wait for it).
func (r *Region) Close() { r.ep.close() }

// Name is record i's name.
func (r *Region) Name(i int) string { return fmt.Sprintf("r%d.example.test.", i) }

// Address is what record i answers while datacenter dc serves it.
func (r *Region) Address(dc string, i int) string {
	for d, name := range Datacenters {
		if name == dc {
			return fmt.Sprintf("10.%d.%d.%d", d+1, i/256, i%256)
		}
	}
	return ""
}

// SpecHook adds the region's check, pools and records to a cluster's
// spec (Options.SpecHook). The check keeps its connections alive, as a
// spec of this size should (`detour check` says so), when the open-file
// limit allows.
func (r *Region) SpecHook(text string) string {
	var pools, records strings.Builder
	for i := range r.Records {
		var names []string
		for _, dc := range Datacenters {
			name := fmt.Sprintf("r%d-%s", i, dc)
			names = append(names, name)
			fmt.Fprintf(&pools, "  - {name: %s, datacenter: %s, check: region, endpoints: [{address: %s, check_address: %q}]}\n",
				name, dc, r.Address(dc, i), r.ep.addrs[dc])
		}
		fmt.Fprintf(&records, "  - {name: %s, type: A, ttl: 1, policy: failover, pools: [%s]}\n", r.Name(i), strings.Join(names, ", "))
	}
	check := fmt.Sprintf("  - {name: region, type: http, path: /healthz, expect_status: [200], keep_alive: %v, interval: %s, timeout: %s, rise: 2, fall: %d}\n",
		r.keepAlive, r.Interval, r.Interval/2, r.Fall)
	text = strings.Replace(text, "checks:\n", "checks:\n"+check, 1)
	text = strings.Replace(text, "records:\n", pools.String()+"records:\n", 1)
	return text + records.String()
}

// Kill closes every endpoint of datacenter dc and their connections.
func (r *Region) Kill(dc string) { r.ep.kill(dc) }

// countEndpoints is how many endpoints spec text checks.
func countEndpoints(t testing.TB, text string) int {
	t.Helper()
	s, err := spec.Parse([]byte(text))
	if err != nil {
		t.Fatalf("cluster spec: %v", err)
	}
	n := 0
	for _, p := range s.Pools {
		n += len(p.Endpoints)
	}
	return n
}

// Moves records, for each member, when each of the region's records was
// first seen answering its next pool over DNS.
type Moves map[*Member][]time.Time

// sweepEvery is how often WatchMoves asks again for the records not yet
// moved when the member published no new answers meanwhile (its
// minority mode answers without publishing).
const sweepEvery = 100 * time.Millisecond

// WatchMoves asks each member's DNS server for every record not yet
// moved, once each time the member publishes new answers (and every
// sweepEvery regardless), with queriers in parallel, until each answers
// want(i) or timeout passes; it returns when each was first seen doing
// so (zero: never). A record's answer changes only when new answers are
// published, so asking again and again in between would only take the
// CPU the nodes under test share with the queriers: that inflated the
// times measured on a loaded machine.
func (r *Region) WatchMoves(ms []*Member, want func(i int) string, timeout time.Duration) Moves {
	out := Moves{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(timeout)
	for _, m := range ms {
		seen := make([]time.Time, r.Records)
		out[m] = seen
		wg.Go(func() {
			r.watchMember(m, deadline, func(i int, at time.Time, got string) bool {
				if got != want(i) {
					return false
				}
				mu.Lock()
				seen[i] = at
				mu.Unlock()
				return true
			})
		})
	}
	wg.Wait()
	return out
}

// watchMember sweeps member m's pending records each time it publishes
// new answers (or sweepEvery passed) until none is pending or deadline.
func (r *Region) watchMember(m *Member, deadline time.Time, moved func(int, time.Time, string) bool) {
	const queriers = 4
	pending := make([]atomic.Bool, r.Records)
	for i := range pending {
		pending[i].Store(true)
	}
	var left atomic.Int64
	left.Store(int64(r.Records))
	fsm := m.Node.Store().FSM()
	published, last := uint64(0), time.Time{}
	for left.Load() > 0 && time.Now().Before(deadline) {
		idx := fsm.PublishedIndex()
		if idx == published && time.Since(last) < sweepEvery {
			time.Sleep(time.Millisecond)
			continue
		}
		published, last = idx, time.Now()
		var wg sync.WaitGroup
		for k := range queriers {
			wg.Go(func() {
				r.query(m.Node.DNSAddr(), deadline, k, queriers, pending, &left, moved)
			})
		}
		wg.Wait()
	}
}

// query is one querier's share of a sweep: it asks for the pending
// records from, every step records, until the sweep's end or the
// deadline.
func (r *Region) query(addr string, deadline time.Time, from, step int, pending []atomic.Bool, left *atomic.Int64, moved func(int, time.Time, string) bool) {
	cl := &dns.Client{Timeout: time.Second}
	co, err := cl.Dial(addr)
	if err != nil {
		return
	}
	defer func() { co.Close() }()
	q := new(dns.Msg)
	for i := from; i < r.Records && time.Now().Before(deadline); i += step {
		if !pending[i].Load() {
			continue
		}
		q.SetQuestion(r.Name(i), dns.TypeA)
		resp, _, err := cl.ExchangeWithConnContext(context.Background(), q, co)
		if err != nil {
			co.Close()
			if co, err = cl.Dial(addr); err != nil {
				return
			}
			continue
		}
		got := ""
		for _, rr := range resp.Answer {
			if a, ok := rr.(*dns.A); ok {
				got = a.A.String()
			}
		}
		if moved(i, time.Now(), got) && pending[i].CompareAndSwap(true, false) {
			left.Add(-1)
		}
	}
}

// LogCounter counts the Raft entries a node stores, and their bytes
// (Options.Configure sets it as the node's WrapLogStore).
type LogCounter struct {
	entries, bytes, largest atomic.Int64
	// slowest is the longest write to the store, in nanoseconds.
	slowest atomic.Int64
}

// Reset zeroes the counts.
func (l *LogCounter) Reset() {
	l.entries.Store(0)
	l.bytes.Store(0)
	l.largest.Store(0)
	l.slowest.Store(0)
}

// Slowest is the longest write to the store since the last Reset.
func (l *LogCounter) Slowest() time.Duration { return time.Duration(l.slowest.Load()) }

// Counts returns the entries stored since the last Reset, their data's
// bytes, and the largest one's.
func (l *LogCounter) Counts() (entries, bytes, largest int64) {
	return l.entries.Load(), l.bytes.Load(), l.largest.Load()
}

// Wrap wraps a log store so that it counts.
func (l *LogCounter) Wrap(s raft.LogStore) raft.LogStore { return countingLog{LogStore: s, c: l} }

type countingLog struct {
	raft.LogStore
	c *LogCounter
}

func (l countingLog) StoreLog(e *raft.Log) error { return l.StoreLogs([]*raft.Log{e}) }

func (l countingLog) StoreLogs(es []*raft.Log) error {
	for _, e := range es {
		n := int64(len(e.Data))
		l.c.entries.Add(1)
		l.c.bytes.Add(n)
		raise(&l.c.largest, n)
	}
	start := time.Now()
	err := l.LogStore.StoreLogs(es)
	raise(&l.c.slowest, int64(time.Since(start)))
	return err
}

// raise sets v to n if n is greater.
func raise(v *atomic.Int64, n int64) {
	for {
		old := v.Load()
		if n <= old || v.CompareAndSwap(old, n) {
			return
		}
	}
}

// raiseFileLimit raises this process's open-file limit to at least n: the
// soft limit up to the hard one, and the hard one too when allowed (root).
func raiseFileLimit(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("open-file limit: %w", err)
	}
	if lim.Cur >= n {
		return nil
	}
	want := lim
	want.Cur = n
	want.Max = max(lim.Max, n)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
		return nil
	}
	if lim.Max < n {
		return fmt.Errorf("open-file limit %d, hard limit %d: raise it (ulimit -n)", lim.Cur, lim.Max)
	}
	want.Max = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		return fmt.Errorf("open-file limit: %w", err)
	}
	return nil
}
