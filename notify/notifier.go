package notify

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/textproto"
	"reflect"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/spec"
)

// Store is what the notifier needs of the controller: the local state
// and proposals through Raft.
type Store interface {
	FSM() *controller.FSM
	Propose(ctx context.Context, c *controller.Command) (controller.Result, error)
}

// Options configure a Notifier.
type Options struct {
	Store  Store
	Logger *slog.Logger
	// Deps are handed to every channel (allowed networks, environment,
	// SMTP TLS).
	Deps Deps
	// NewChannel builds channels; nil means NewChannel. Tests wrap it.
	NewChannel func(spec.Channel, Deps) (Channel, error)
	// MinBackoff and MaxBackoff bound the wait between attempts; zero
	// means 1s and 5m.
	MinBackoff, MaxBackoff time.Duration
	// AttemptTimeout bounds one delivery; zero means 30s.
	AttemptTimeout time.Duration
}

// Notifier delivers events on the leader, one goroutine per channel. It
// is a leader task: Run is started when this node's term begins and its
// context ends with the term (controller.Store.OnLeader).
type Notifier struct {
	opts   Options
	logger *slog.Logger
}

// New returns a notifier; Run starts it.
func New(opts Options) *Notifier {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.NewChannel == nil {
		opts.NewChannel = NewChannel
	}
	if opts.Deps.client == nil {
		opts.Deps.client = newHTTPClient(opts.Deps.guard())
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = 30 * time.Second
	}
	return &Notifier{opts: opts, logger: opts.Logger}
}

// worker is one running channel (or the auto-incident writer).
type worker struct {
	conf   any // what it was started from; a change restarts it
	cancel context.CancelFunc
	done   chan struct{}
}

// Run delivers until ctx ends (the leader's term), restarting channels
// as the spec changes them, and returns nil once every channel stopped.
func (n *Notifier) Run(ctx context.Context) error {
	workers := map[string]*worker{}
	defer func() {
		if len(workers) > 0 {
			n.logger.Info("the leader's term ended: notifications stop here")
		}
		for name, w := range workers {
			w.cancel()
			<-w.done
			delete(workers, name)
		}
	}()
	for {
		changed := n.opts.Store.FSM().Changed()
		n.sync(ctx, workers)
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
	}
}

// AutoIncidentCursor is the cursor name of the auto-incident writer. It
// cannot clash with a channel: channel names start with a letter or
// digit.
const AutoIncidentCursor = "@auto-incident"

// sync starts, restarts and stops workers to match the spec.
func (n *Notifier) sync(ctx context.Context, workers map[string]*worker) {
	s, _ := n.opts.Store.FSM().Spec()
	want := map[string]any{}
	if s != nil && s.Notifications != nil {
		for _, c := range s.Notifications.Channels {
			want[c.Name] = c
		}
	}
	if s != nil && s.StatusPage != nil && s.StatusPage.AutoIncident {
		want[AutoIncidentCursor] = true
	}
	for name, w := range workers {
		if c, ok := want[name]; !ok || !reflect.DeepEqual(c, w.conf) {
			w.cancel()
			<-w.done
			delete(workers, name)
		}
	}
	for name, conf := range want {
		if workers[name] != nil {
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		w := &worker{conf: conf, cancel: cancel, done: make(chan struct{})}
		workers[name] = w
		if c, ok := conf.(spec.Channel); ok {
			ch, err := n.opts.NewChannel(c, n.opts.Deps)
			if err != nil {
				n.logger.Error("notification channel", "channel", name, "err", err)
				close(w.done)
				continue
			}
			go func() {
				defer close(w.done)
				n.deliverLoop(wctx, c, ch)
			}()
		} else {
			go func() {
				defer close(w.done)
				n.autoIncidentLoop(wctx)
			}()
		}
	}
}

// startCursor is where a channel starts: its cursor, or, for a channel
// without one, the spec change that added it (it does not replay the
// past).
func (n *Notifier) startCursor(name string) (seq uint64) {
	view := n.opts.Store.FSM().View()
	if c, ok := view.Cursor(name); ok {
		return c.Seq
	}
	seq = view.NextEvent()
	events := view.Events()
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Kind == "spec" {
			return events[i].Seq - 1
		}
	}
	return seq
}

// pending returns the events after seq as notifications built from the
// state now, and the spec in force.
func (n *Notifier) pending(seq uint64) (out []Notification, s *spec.Spec) {
	view := n.opts.Store.FSM().View()
	s = view.Spec()
	evs := view.EventsAfter(seq)
	if len(evs) == 0 {
		return nil, s
	}
	incidents := view.Incidents()
	for _, ev := range evs {
		out = append(out, Build(ev, s, incidents))
	}
	return out, s
}

// maxRefusals is how many times an event refused for what it is (see
// refusedForGood) is sent before it is dropped.
const maxRefusals = 3

// refusedForGood reports whether a receiver refused a notification for
// its content (400, 413, 415 or 422; SMTP 552 or 554), so that the same
// bytes cannot succeed later. Refusals of the channel itself (a wrong
// token or URL: 401, 403, 404) are not: they fail every event alike, and
// the events wait for the operator to fix the channel.
func refusedForGood(err error) bool {
	var he *httpError
	if errors.As(err, &he) {
		switch he.Status {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
			return true
		}
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code == 552 || te.Code == 554
	}
	return false
}

// propose records a channel's cursor through Raft; it reports success.
func (n *Notifier) propose(ctx context.Context, name string, seq uint64, errText string) bool {
	return n.proposeCursor(ctx, controller.NotifyCursor{Channel: name, Seq: seq, Error: errText})
}

// proposeCursor commits c (a cursor, or with Drop set, an event given
// up on); it reports success.
func (n *Notifier) proposeCursor(ctx context.Context, c controller.NotifyCursor) bool {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := n.opts.Store.Propose(pctx, &controller.Command{Type: controller.CmdNotifyCursor, Cursor: &c})
	if err != nil && ctx.Err() == nil {
		n.logger.Warn("recording notification cursor", "channel", c.Channel, "seq", c.Seq, "drop", c.Drop != "", "err", err)
	}
	return err == nil
}

// backoff is exponential with jitter: min*2^attempt capped at max, then
// a random half to a whole of it, so retries of many nodes and channels
// spread out. A receiver's Retry-After wins when longer.
func (n *Notifier) backoff(attempt int, after time.Duration) time.Duration {
	d := n.opts.MinBackoff
	for i := 0; i < attempt && d < n.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, n.opts.MaxBackoff)
	d = d/2 + rand.N(d/2+1)
	return max(d, min(after, n.opts.MaxBackoff))
}
