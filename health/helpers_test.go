package health

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed3787e6f1/detour/spec"
)

// httpCheckSpec is an http check with the defaults Validate would fill,
// and an interval short enough for tests (the engine, unlike Validate,
// allows a timeout above the interval).
func httpCheckSpec(name string) spec.Check {
	return spec.Check{
		Name: name, Type: spec.CheckHTTP, Method: "GET", Path: "/",
		ExpectStatus: spec.StatusCodes{{Lo: 200, Hi: 399}},
		Interval:     spec.Duration(50 * time.Millisecond),
		// Generous: a loaded machine must not turn a healthy loopback
		// target into a timeout. Tests of timeouts set their own.
		Timeout: spec.Duration(2 * time.Second),
		Rise:    1, Fall: 1,
	}
}

// specWith builds a spec with one pool "p" of the given check and probe
// addresses, each endpoint address being 192.0.2.<i+1>.
func specWith(c spec.Check, probes ...string) *spec.Spec {
	p := spec.Pool{Name: "p", Datacenter: "dc", Check: c.Name}
	for i, pr := range probes {
		p.Endpoints = append(p.Endpoints, spec.Endpoint{Address: addrN(i), CheckAddress: pr})
	}
	return &spec.Spec{Checks: []spec.Check{c}, Pools: []spec.Pool{p}}
}

func addrN(i int) string { return "192.0.2." + strconv.Itoa(i+1) }

// recorder is a Sink that keeps every transition.
type recorder struct {
	mu sync.Mutex
	ts []Transition
	ch chan Transition
}

func newRecorder() *recorder { return &recorder{ch: make(chan Transition, 1024)} }

func (r *recorder) Transition(t Transition) {
	r.mu.Lock()
	r.ts = append(r.ts, t)
	r.mu.Unlock()
	r.ch <- t
}

func (r *recorder) all() []Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Transition(nil), r.ts...)
}

// next waits for the next transition.
func (r *recorder) next(t *testing.T) Transition {
	t.Helper()
	select {
	case tr := <-r.ch:
		return tr
	case <-time.After(5 * time.Second):
		t.Fatalf("no transition within 5s; so far: %+v", r.all())
		return Transition{}
	}
}

// loopback is what the tests' engines allow their probes to reach
// besides the default: the test servers all listen on loopback.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// startEngine runs an engine with s until the test ends and waits for Run
// to return then. Unless opts says otherwise, probes may reach loopback.
func startEngine(t *testing.T, s *spec.Spec, opts Options) (*Engine, *recorder) {
	t.Helper()
	rec := newRecorder()
	if opts.AllowNetworks == nil {
		opts.AllowNetworks = loopback
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	e, err := New(slog.New(slog.DiscardHandler), rec, opts)
	if err != nil {
		t.Fatal(err)
	}
	e.Update(s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return within 5s of cancel")
		}
	})
	return e, rec
}

// refusedAddr returns a loopback address nothing listens on.
func refusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// serveTCP accepts loopback connections until the test ends and hands
// each to handle in a goroutine of its own, with a 5 s deadline, closing
// it after; it returns the address.
func serveTCP(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				handle(c)
			}()
		}
	}()
	return l.Addr().String()
}

// silentServer accepts connections and never writes; it closes them when
// the test ends.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err == nil {
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// probeOnce builds the checker of c for probe and runs it once with c's
// timeout.
func probeOnce(t *testing.T, c spec.Check, probe string) Result {
	t.Helper()
	k, ok := kinds()[c.Type]
	if !ok {
		t.Fatalf("no kind %q", c.Type)
	}
	mk, err := k(&c, testEnv())
	if err != nil {
		t.Fatalf("building %s check: %v", c.Type, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout.D())
	defer cancel()
	return mk(Target{ID: TargetID{Pool: "p", Address: "192.0.2.1"}, Probe: probe}).Check(ctx)
}

// testEnv is what kinds get in the tests: probes may reach loopback.
func testEnv() *env {
	return &env{beats: newBeatBook(), now: time.Now, guard: &guard{allow: loopback}}
}
