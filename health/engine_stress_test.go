package health

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

// probeLog counts probes per probe address and catches two at once of
// one target (one checker; a replaced target's last probe may still run
// beside its successor's first, as it may against a real endpoint).
type probeLog struct {
	mu       sync.Mutex
	inFlight map[*int]int
	count    map[string]int
	overlaps atomic.Int64
}

func (l *probeLog) probe(target *int, addr string) Result {
	l.mu.Lock()
	l.inFlight[target]++
	if l.inFlight[target] > 1 {
		l.overlaps.Add(1)
	}
	l.count[addr]++
	l.mu.Unlock()
	time.Sleep(time.Duration(rand.N(2000)) * time.Microsecond)
	l.mu.Lock()
	l.inFlight[target]--
	l.mu.Unlock()
	return Result{Up: rand.N(2) == 0, Reason: "coin"}
}

func (l *probeLog) counts() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.count))
	for k, v := range l.count {
		out[k] = v
	}
	return out
}

type deadlineFake struct {
	log  *probeLog
	id   *int
	addr string
}

func (d deadlineFake) Check(ctx context.Context) Result { return d.log.probe(d.id, d.addr) }
func (d deadlineFake) CheckBy(context.Context, time.Time) Result {
	return d.log.probe(d.id, d.addr)
}

// The schedule under churn: updates that add, drop and replace targets,
// heartbeat-style pokes, a small worker pool, and Run stopped and started
// again. No target is ever probed twice at once, every live target keeps
// being probed, and nothing is left in flight or queued when Run returns.
// The checkers are in memory, so it runs on a synctest bubble's fake
// clock: its sleeps (updates, probes, 300 ms of steady state per round)
// cost no wall time.
func TestEngineScheduleUnderChurn(t *testing.T) { synctest.Test(t, scheduleUnderChurn) }

func scheduleUnderChurn(t *testing.T) {
	log := &probeLog{inFlight: map[*int]int{}, count: map[string]int{}}
	e, err := New(slog.New(slog.DiscardHandler), nil, Options{Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	e.kinds["fake"] = func(c *spec.Check, _ *env) (func(Target) Checker, error) {
		return func(tg Target) Checker {
			addr, id := tg.Probe, new(int)
			return CheckerFunc(func(context.Context) Result { return log.probe(id, addr) })
		}, nil
	}
	e.kinds["fakedl"] = func(c *spec.Check, _ *env) (func(Target) Checker, error) {
		return func(tg Target) Checker { return deadlineFake{log: log, id: new(int), addr: tg.Probe} }, nil
	}
	specOf := func(n int, interval time.Duration) *spec.Spec {
		s := &spec.Spec{}
		for _, typ := range []string{"fake", "fakedl"} {
			c := spec.Check{Name: typ, Type: typ, Interval: spec.Duration(interval), Timeout: spec.Duration(time.Second), Rise: 1, Fall: 1}
			p := spec.Pool{Name: typ, Datacenter: "dc", Check: typ}
			for i := range n {
				p.Endpoints = append(p.Endpoints, spec.Endpoint{Address: addrN(i), CheckAddress: fmt.Sprintf("%s-%d:1", typ, i)})
			}
			s.Checks, s.Pools = append(s.Checks, c), append(s.Pools, p)
		}
		return s
	}
	var last *spec.Spec
	for round := range 4 {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		for range 25 {
			last = specOf(10+rand.N(20), time.Duration(10+rand.N(3)*5)*time.Millisecond) // new intervals replace targets
			e.Update(last)
			e.mu.Lock()
			var ts []*target
			for _, tg := range e.targets {
				ts = append(ts, tg)
			}
			e.mu.Unlock()
			for range 5 {
				e.sched.poke(ts[rand.N(len(ts))])
			}
			time.Sleep(time.Duration(rand.N(8)) * time.Millisecond)
		}
		before := log.counts()
		time.Sleep(300 * time.Millisecond) // 10+ intervals
		after := log.counts()
		for _, p := range last.Pools {
			for _, ep := range p.Endpoints {
				if after[ep.CheckAddress] <= before[ep.CheckAddress] {
					t.Errorf("round %d: %s not probed in 300 ms after the last update", round, ep.CheckAddress)
				}
			}
		}
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: Run did not return", round)
		}
		e.sched.mu.Lock()
		for id, tg := range e.targets {
			if tg.busy || tg.queued || tg.stop != nil {
				t.Errorf("round %d: after Run returned, %v: busy %v, queued %v", round, id, tg.busy, tg.queued)
			}
		}
		if len(e.sched.queue) != 0 {
			t.Errorf("round %d: %d entries left in the queue", round, len(e.sched.queue))
		}
		e.sched.mu.Unlock()
	}
	if n := log.overlaps.Load(); n > 0 {
		t.Errorf("a target was probed twice at once, %d times", n)
	}
}

// Timeouts found by the I/O deadlines alone (the engine gives http checks
// no context deadline) read "timeout after ...", kept connection or not.
func TestEngineHTTPTimeoutReason(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("keep_alive=%v", keep), func(t *testing.T) {
			c := httpCheckSpec("web")
			c.Interval, c.Timeout, c.KeepAlive = spec.Duration(time.Second), spec.Duration(300*time.Millisecond), keep
			_, rec := startEngine(t, specWith(c, silentServer(t)), Options{})
			if tr := rec.next(t); tr.To != Down || tr.Reason != "timeout after 300ms" {
				t.Errorf("transition %+v, want down with reason %q", tr, "timeout after 300ms")
			}
		})
	}
}

// Shutdown cuts https probes and probes on kept connections short.
func TestEngineCancelStopsTLSAndKeptProbes(t *testing.T) {
	stall := func() http.HandlerFunc {
		var answered atomic.Bool
		return func(w http.ResponseWriter, r *http.Request) {
			if answered.CompareAndSwap(false, true) { // the first request gives keep_alive a connection
				io.WriteString(w, "ok")
				return
			}
			<-r.Context().Done()
		}
	}
	srv := httptest.NewTLSServer(stall())
	t.Cleanup(srv.Close)
	plain := httptest.NewServer(stall())
	t.Cleanup(plain.Close)

	https := httpCheckSpec("secure")
	https.Type, https.InsecureSkipVerify = spec.CheckHTTPS, true
	kept := httpCheckSpec("kept")
	kept.KeepAlive = true
	s := &spec.Spec{}
	for _, c := range []spec.Check{https, kept} {
		c.Interval, c.Timeout = spec.Duration(20*time.Second), spec.Duration(10*time.Second)
		addr := srv.Listener.Addr().String()
		if c.Name == "kept" {
			addr = plain.Listener.Addr().String()
		}
		p := specWith(c, addr, addr, addr)
		p.Pools[0].Name = c.Name
		s.Checks, s.Pools = append(s.Checks, p.Checks...), append(s.Pools, p.Pools...)
	}
	// startEngine's cleanup cancels Run and fails the test unless it
	// returns within 5 s: the probes in flight have 10 s timeouts.
	e, _ := startEngine(t, s, Options{})
	// First probes start at a random point of the 20 s interval: poke
	// them all, so that every kind of probe is in flight.
	time.Sleep(500 * time.Millisecond)
	e.mu.Lock()
	for _, tg := range e.targets {
		e.sched.poke(tg)
	}
	e.mu.Unlock()
	time.Sleep(300 * time.Millisecond)
}

// A kept connection is closed when its target leaves the spec and when
// the engine stops, not left to the server's idle timeout.
func TestKeptConnectionReleased(t *testing.T) {
	var open atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	c := httpCheckSpec("web")
	c.KeepAlive, c.Interval = true, spec.Duration(20*time.Millisecond)
	e, rec := startEngine(t, specWith(c, addr, addr), Options{})
	rec.next(t)
	rec.next(t)
	testutil.Eventually(t, "two kept connections", 5*time.Second, func() bool { return open.Load() == 2 })
	e.Update(specWith(c, addr)) // one target left
	testutil.Eventually(t, "the dropped target's connection closed", 5*time.Second, func() bool { return open.Load() == 1 })

	// Engine stop: the remaining one.
	e2, err := New(slog.New(slog.DiscardHandler), nil, Options{AllowNetworks: loopback})
	if err != nil {
		t.Fatal(err)
	}
	e.Update(&spec.Spec{})
	testutil.Eventually(t, "every connection closed", 5*time.Second, func() bool { return open.Load() == 0 })
	e2.Update(specWith(c, addr))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e2.Run(ctx) }()
	testutil.Eventually(t, "a kept connection", 5*time.Second, func() bool { return open.Load() == 1 })
	cancel()
	<-done
	testutil.Eventually(t, "the connection closed when Run returned", 5*time.Second, func() bool { return open.Load() == 0 })
}

// A server that says 408 on an idle kept connection (and closes it) does
// not fail a probe: the probe goes again on a fresh connection.
func TestKeptConnection408(t *testing.T) {
	var conns atomic.Int64
	addr := serveTCP(t, func(c net.Conn) {
		conns.Add(1)
		buf := make([]byte, 4096)
		if n, err := c.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "GET ") {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		time.Sleep(50 * time.Millisecond) // idle, then gives up on the connection
		io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		time.Sleep(200 * time.Millisecond)
	})
	c := keepAliveChecker(t, addr, true)
	if r := probe(t, c); !r.Up {
		t.Fatalf("first probe: %+v", r)
	}
	time.Sleep(100 * time.Millisecond)
	if r := probe(t, c); !r.Up {
		t.Errorf("after a 408 on the idle connection: %+v, want up on a fresh connection", r)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}
