package notify

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/spec"
)

// The delivery loop's timing runs in a testing/synctest bubble: the
// production backoff (1 s doubling to 5 min) is asserted attempt by
// attempt in fake time, in milliseconds of real time. The channel is the
// real webhook posting to a real HTTP receiver on loopback; the receiver
// is started outside the bubble and the client keeps no idle
// connections, so that nothing in the bubble waits on the network while
// the fake clock should move. The replicated log is replaced by memLog.

// memLog is an in-memory eventLog: a fixed list of events and the
// cursors committed, in order.
type memLog struct {
	mu      sync.Mutex
	events  []Notification
	commits []controller.NotifyCursor
	ch      chan struct{}
}

func newMemLog(n int) *memLog {
	l := &memLog{ch: make(chan struct{})}
	for i := 1; i <= n; i++ {
		l.events = append(l.events, Notification{ID: strconv.Itoa(i), Seq: uint64(i), Kind: "record",
			Severity: "critical", Title: "event " + strconv.Itoa(i), Time: time.Now()})
	}
	return l
}

func (l *memLog) start(string) uint64 { return 0 }

func (l *memLog) pending(seq uint64) ([]Notification, *spec.Spec) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Notification
	for _, n := range l.events {
		if n.Seq > seq {
			out = append(out, n)
		}
	}
	return out, nil
}

func (l *memLog) changed() <-chan struct{} { return l.ch }

func (l *memLog) commit(_ context.Context, c controller.NotifyCursor) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.commits = append(l.commits, c)
	return true
}

func (l *memLog) committed() []controller.NotifyCursor {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]controller.NotifyCursor(nil), l.commits...)
}

// script is a loopback webhook receiver that answers the n-th request
// with replies[n] (a status code; past the end, 200), with a
// Retry-After of retryAfter seconds when set, and keeps no connection
// open.
type script struct {
	srv        *httptest.Server
	replies    []int
	retryAfter int
	hits       atomic.Int32
	mu         sync.Mutex
	ids        []string
}

func newScript(t *testing.T, retryAfter int, replies ...int) *script {
	s := &script{replies: replies, retryAfter: retryAfter}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.hits.Add(1)) - 1
		w.Header().Set("Connection", "close")
		s.mu.Lock()
		s.ids = append(s.ids, r.Header.Get(EventHeader))
		s.mu.Unlock()
		if n < len(s.replies) {
			if s.retryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(s.retryAfter))
			}
			http.Error(w, "scripted failure", s.replies[n])
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *script) URL() string { return s.srv.URL + "/hook" }

func (s *script) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids...)
}

// timedChannel records the (fake) time of every attempt of the channel
// it wraps.
type timedChannel struct {
	Channel
	mu    sync.Mutex
	times []time.Time
}

func (c *timedChannel) Deliver(ctx context.Context, n Notification) error {
	c.mu.Lock()
	c.times = append(c.times, time.Now())
	c.mu.Unlock()
	return c.Channel.Deliver(ctx, n)
}

func (c *timedChannel) gaps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for i := 1; i < len(c.times); i++ {
		out = append(out, c.times[i].Sub(c.times[i-1]))
	}
	return out
}

// bubbleDelivery builds, inside a bubble, the delivery loop of a real
// webhook channel to url with the production backoff defaults.
func bubbleDelivery(url string, events eventLog) (*delivery, *timedChannel) {
	n := New(Options{Deps: Deps{AllowNetworks: loopback}})
	t := n.opts.Deps.client.Transport.(*http.Transport)
	t.DisableKeepAlives = true // no idle connection waits on the network
	c := spec.Channel{Name: "hook", Type: spec.ChannelWebhook, URL: url}
	ch, err := NewChannel(c, n.opts.Deps)
	if err != nil {
		panic(err)
	}
	tc := &timedChannel{Channel: ch}
	return &delivery{events: events, channel: c, ch: tc, backoff: n.backoff,
		timeout: n.opts.AttemptTimeout, log: slog.New(slog.DiscardHandler)}, tc
}

// runBubble runs d until the receiver has seen want requests and the
// loop waits for the log to change, then stops it.
func runBubble(t *testing.T, d *delivery, s *script, want int) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.run(ctx)
	}()
	for i := 0; i < 10000 && int(s.hits.Load()) < want; i++ {
		time.Sleep(time.Second) // fake time: advances once the loop waits
	}
	synctest.Wait()
	cancel()
	<-done
}

// Failures are retried with the production schedule: waits doubling
// from 1 s (each a random half to a whole of it) up to 5 min, then
// 5 min; the first error is written in the cursor once; the delivered
// event moves the cursor.
func TestBackoffScheduleInFakeTime(t *testing.T) {
	failures := []int{500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 503, 503}
	s := newScript(t, 0, failures...)
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog(1)
		d, tc := bubbleDelivery(s.URL(), log)
		start := time.Now()
		runBubble(t, d, s, len(failures)+1)
		gaps := tc.gaps()
		if len(gaps) != len(failures) {
			t.Fatalf("%d attempts, want %d", len(gaps)+1, len(failures)+1)
		}
		for i, g := range gaps {
			full := min(time.Second<<i, 5*time.Minute)
			if g < full/2 || g > full {
				t.Errorf("wait before retry %d: %s, want between %s and %s", i+1, g, full/2, full)
			}
		}
		total := time.Since(start)
		if total < 10*time.Minute {
			t.Errorf("12 failures took %s of fake time, want the capped doubling (over 10 min)", total)
		}
		t.Logf("%d attempts over %s of fake time", len(gaps)+1, total.Round(time.Second))
		want := []controller.NotifyCursor{
			{Channel: "hook", Seq: 0, Error: "event 1: HTTP 500 Internal Server Error: scripted failure"},
			{Channel: "hook", Seq: 0, Error: "event 1: HTTP 503 Service Unavailable: scripted failure"},
			{Channel: "hook", Seq: 1},
		}
		if got := log.committed(); !equalCursors(got, want) {
			t.Errorf("commits %+v, want %+v", got, want)
		}
	})
}

// A receiver's Retry-After (429, 120 s) wins over a shorter backoff.
func TestRetryAfterInFakeTime(t *testing.T) {
	s := newScript(t, 120, 429, 429)
	synctest.Test(t, func(t *testing.T) {
		d, tc := bubbleDelivery(s.URL(), newMemLog(1))
		runBubble(t, d, s, 3)
		gaps := tc.gaps()
		if len(gaps) != 2 {
			t.Fatalf("%d attempts, want 3", len(gaps)+1)
		}
		for i, g := range gaps {
			if g != 120*time.Second {
				t.Errorf("wait before retry %d: %s, want the receiver's 2m0s", i+1, g)
			}
		}
	})
}

// An event refused for what it is (400) is sent three times with the
// backoff between, then dropped with the receiver's words, and the next
// event is delivered.
func TestRefusalDropInFakeTime(t *testing.T) {
	s := newScript(t, 0, 400, 400, 400)
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog(2)
		d, tc := bubbleDelivery(s.URL(), log)
		runBubble(t, d, s, 4)
		if got := s.received(); strings.Join(got, ",") != "1,1,1,2" {
			t.Errorf("receiver saw events %v, want 1 three times then 2", got)
		}
		gaps := tc.gaps()
		for i, g := range gaps[:2] {
			if full := time.Second << i; g < full/2 || g > full {
				t.Errorf("wait before retry %d: %s, want between %s and %s", i+1, g, full/2, full)
			}
		}
		commits := log.committed()
		if len(commits) != 3 || !strings.Contains(commits[1].Drop, "dropped after 3 refusals: HTTP 400") ||
			commits[1].Seq != 1 || commits[2].Seq != 2 || commits[2].Error != "" {
			t.Errorf("commits %+v, want the error, the drop of 1, then the cursor at 2", commits)
		}
	})
}

// A refusal of the channel itself (401: a wrong token) is not the
// event's fault: it is retried past the three refusals that drop an
// event, until the channel is fixed, and nothing is dropped.
func TestChannelRefusalHoldsInFakeTime(t *testing.T) {
	s := newScript(t, 0, 401, 401, 401, 401, 401, 401)
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog(2)
		d, _ := bubbleDelivery(s.URL(), log)
		runBubble(t, d, s, 8)
		if got := s.received(); strings.Join(got, ",") != "1,1,1,1,1,1,1,2" {
			t.Errorf("receiver saw events %v, want 1 seven times then 2", got)
		}
		want := []controller.NotifyCursor{
			{Channel: "hook", Seq: 0, Error: "event 1: HTTP 401 Unauthorized: scripted failure"},
			{Channel: "hook", Seq: 2},
		}
		if got := log.committed(); !equalCursors(got, want) {
			t.Errorf("commits %+v, want %+v (no drop)", got, want)
		}
	})
}

// The end of the leader's term stops a channel waiting out a 5-minute
// backoff at once, without another attempt.
func TestTermEndStopsBackoff(t *testing.T) {
	s := newScript(t, 300, 503)
	synctest.Test(t, func(t *testing.T) {
		d, _ := bubbleDelivery(s.URL(), newMemLog(1))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			d.run(ctx)
		}()
		for i := 0; i < 100 && s.hits.Load() < 1; i++ {
			time.Sleep(time.Millisecond)
		}
		synctest.Wait()
		start := time.Now()
		cancel()
		<-done
		if d := time.Since(start); d != 0 {
			t.Errorf("stopping took %s of fake time, want none", d)
		}
		if n := s.hits.Load(); n != 1 {
			t.Errorf("%d attempts, want 1", n)
		}
	})
}

func equalCursors(a, b []controller.NotifyCursor) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Channel != b[i].Channel || a[i].Seq != b[i].Seq || a[i].Error != b[i].Error || a[i].Drop != b[i].Drop {
			return false
		}
	}
	return true
}
