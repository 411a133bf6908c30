package health

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

// switchServer answers 200 while healthy is true, 503 otherwise, and
// counts requests.
type switchServer struct {
	healthy  atomic.Bool
	requests atomic.Int64
	addr     string
}

func newSwitchServer(t *testing.T, healthy bool) *switchServer {
	t.Helper()
	s := &switchServer{}
	s.healthy.Store(healthy)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if !s.healthy.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	s.addr = srv.Listener.Addr().String()
	return s
}

func TestEngineTransitions(t *testing.T) {
	srv := newSwitchServer(t, true)
	c := httpCheckSpec("web")
	c.Rise, c.Fall = 2, 2
	e, rec := startEngine(t, specWith(c, srv.addr), Options{})

	first := rec.next(t)
	want := TargetID{Pool: "p", Address: "192.0.2.1"}
	if first.Target != want || first.From != Unknown || first.To != Up || first.Reason != "HTTP 200 OK" || first.Check != "web" {
		t.Fatalf("first transition %+v, want %v unknown -> up", first, want)
	}
	<-e.FirstRoundDone()

	srv.healthy.Store(false)
	before := srv.requests.Load()
	down := rec.next(t)
	if down.From != Up || down.To != Down || down.Reason != "HTTP 503 Service Unavailable" {
		t.Fatalf("got %+v, want up -> down with the 503", down)
	}
	if n := srv.requests.Load() - before; n < 2 {
		t.Errorf("went down after %d failing probes, want fall=2", n)
	}
	st := e.View()
	if len(st) != 1 || st[0].Verdict != Down || st[0].LastReason != "HTTP 503 Service Unavailable" || st[0].Probe != srv.addr {
		t.Errorf("view %+v, want the target down with its reason", st)
	}

	srv.healthy.Store(true)
	if up := rec.next(t); up.From != Down || up.To != Up {
		t.Fatalf("got %+v, want down -> up", up)
	}
}

func TestEngineFlappingKeepsVerdict(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if k := n.Add(1); k > 2 && k%2 == 0 { // up for rise, then flapping
			http.Error(w, "flap", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	c := httpCheckSpec("web")
	c.Rise, c.Fall = 2, 2
	e, rec := startEngine(t, specWith(c, srv.Listener.Addr().String()), Options{})
	testutil.Eventually(t, "12 probes", 5*time.Second, func() bool { return n.Load() >= 12 })
	if ts := rec.all(); len(ts) != 1 || ts[0].To != Up {
		t.Fatalf("transitions %+v, want only the first verdict (up)", ts)
	}
	if v := e.View()[0].Verdict; v != Up {
		t.Errorf("verdict %v, want up", v)
	}
}

func TestEngineFirstRound(t *testing.T) {
	up := newSwitchServer(t, true)
	down := newSwitchServer(t, false)
	c := httpCheckSpec("web")
	c.Interval = spec.Duration(150 * time.Millisecond)
	c.Timeout = spec.Duration(time.Second) // the silent server takes this long
	s := specWith(c, up.addr, down.addr, refusedAddr(t), silentServer(t))

	rec := newRecorder()
	e, err := New(nil, rec, Options{AllowNetworks: loopback})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.FirstRoundDone():
		t.Fatal("first round done before any spec")
	default:
	}
	e.Update(s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	defer func() { cancel(); <-done }()

	select {
	case <-e.FirstRoundDone():
	case <-time.After(5 * time.Second):
		t.Fatal("first round not done within 5s")
	}
	got := map[string]Verdict{}
	for _, st := range e.View() {
		got[st.Target.Address] = st.Verdict
	}
	want := map[string]Verdict{"192.0.2.1": Up, "192.0.2.2": Down, "192.0.2.3": Down, "192.0.2.4": Down}
	for a, v := range want {
		if got[a] != v {
			t.Errorf("%s: verdict %v after the first round, want %v", a, got[a], v)
		}
	}
}

func TestEngineNoTargetsIsReady(t *testing.T) {
	e, err := New(nil, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.Update(&spec.Spec{Pools: []spec.Pool{{Name: "static", Endpoints: []spec.Endpoint{{Address: "192.0.2.1"}}}}})
	select {
	case <-e.FirstRoundDone():
	default:
		t.Fatal("a spec without checked pools should be ready at once")
	}
	if v := e.View(); len(v) != 0 {
		t.Errorf("pool without a check got targets: %+v", v)
	}
}

func TestEngineUpdate(t *testing.T) {
	srv := newSwitchServer(t, true)
	c := httpCheckSpec("web")
	s := specWith(c, srv.addr)
	e, rec := startEngine(t, s, Options{})
	a := rec.next(t)

	// Adding a target leaves the first one alone.
	s2 := specWith(c, srv.addr, srv.addr)
	e.Update(s2)
	if b := rec.next(t); b.Target.Address != "192.0.2.2" || b.From != Unknown {
		t.Fatalf("got %+v, want the new target's first verdict", b)
	}
	st := e.View()
	if len(st) != 2 || st[0].Since != a.At {
		t.Fatalf("view %+v: the unchanged target should keep its state (since %v)", st, a.At)
	}

	// Changing the check keeps the verdicts: no flap through unknown.
	c.Path = "/other"
	e.Update(specWith(c, srv.addr, srv.addr))
	for _, st := range e.View() {
		if st.Verdict != Up {
			t.Errorf("%v: verdict %v right after a check change, want up (kept)", st.Target, st.Verdict)
		}
	}

	// Removing a target drops it from the view.
	e.Update(specWith(c, srv.addr))
	if st := e.View(); len(st) != 1 || st[0].Target.Address != "192.0.2.1" {
		t.Fatalf("view %+v, want only 192.0.2.1", st)
	}
	time.Sleep(3 * c.Interval.D())
	for _, tr := range rec.all() {
		if tr.From != Unknown {
			t.Errorf("unexpected transition %+v: the target stayed healthy", tr)
		}
	}
}

func TestEngineConcurrencyLimit(t *testing.T) {
	var mu sync.Mutex
	var inFlight, peak, total int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		total++
		peak = max(peak, inFlight)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	c := httpCheckSpec("web")
	startEngine(t, specWith(c, addr, addr, addr, addr, addr, addr, addr, addr), Options{Concurrency: 2})
	testutil.Eventually(t, "24 probes", 5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return total >= 24 })
	mu.Lock()
	defer mu.Unlock()
	if peak > 2 {
		t.Errorf("%d probes in flight at once, limit 2", peak)
	}
}

func TestEngineCancelStopsProbes(t *testing.T) {
	var accepted atomic.Int64
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accepted.Add(1)
		<-r.Context().Done() // never answers; ends when the client goes away
	}))
	t.Cleanup(silent.Close)
	addr := silent.Listener.Addr().String()
	c := httpCheckSpec("web")
	c.Interval, c.Timeout = spec.Duration(20*time.Second), spec.Duration(10*time.Second)
	probes := make([]string, 200) // many, so that one starts early within the jittered interval
	for i := range probes {
		probes[i] = addr
	}
	rec := newRecorder()
	e, err := New(slog.New(slog.DiscardHandler), rec, Options{AllowNetworks: loopback})
	if err != nil {
		t.Fatal(err)
	}
	e.Update(specWith(c, probes...))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	testutil.Eventually(t, "a probe in flight", 5*time.Second, func() bool { return accepted.Load() > 0 })
	if err := e.Run(ctx); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run: %v, want ErrRunning", err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of cancel while probes (timeout 10s) were in flight")
	}
	if ts := rec.all(); len(ts) != 0 {
		t.Errorf("probes cut short by shutdown produced transitions: %+v", ts)
	}
}

func TestEngineMetrics(t *testing.T) {
	srv := newSwitchServer(t, true)
	reg := prometheus.NewRegistry()
	startEngine(t, specWith(httpCheckSpec("web"), srv.addr, refusedAddr(t)), Options{Registerer: reg})
	want := map[string]bool{
		`detour_health_probes_total{result="ok",type="http"}`:      false,
		`detour_health_probes_total{result="refused",type="http"}`: false,
		`detour_health_probe_duration_seconds{type="http"}`:        false,
		`detour_health_probes_in_flight`:                           false,
	}
	testutil.Eventually(t, "metrics of both targets", 5*time.Second, func() bool {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				key := mf.GetName()
				if len(m.GetLabel()) > 0 {
					key += "{"
					for i, l := range m.GetLabel() {
						if i > 0 {
							key += ","
						}
						key += l.GetName() + `="` + l.GetValue() + `"`
					}
					key += "}"
				}
				if _, ok := want[key]; ok && (m.GetCounter().GetValue() > 0 || m.GetHistogram().GetSampleCount() > 0 || m.Gauge != nil) {
					want[key] = true
				}
			}
		}
		for _, seen := range want {
			if !seen {
				return false
			}
		}
		return true
	})
	if _, err := New(nil, nil, Options{Registerer: reg}); err == nil {
		t.Error("registering the metrics twice on one registry should fail")
	}
}
