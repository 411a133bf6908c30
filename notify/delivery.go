package notify

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/spec"
)

// eventLog is what one channel's delivery loop reads and writes: the
// events after its cursor and the commit of its cursor. In production it
// is the replicated state (storeLog); the loop itself knows nothing of
// Raft, so its retry and backoff schedule runs in a testing/synctest
// bubble in tests.
type eventLog interface {
	// start is where channel name starts delivering.
	start(name string) uint64
	// pending returns the events after seq and the spec in force.
	pending(seq uint64) ([]Notification, *spec.Spec)
	// changed is closed at the next change of the log.
	changed() <-chan struct{}
	// commit records a cursor (or, with Drop set, an event given up on);
	// it reports success.
	commit(ctx context.Context, c controller.NotifyCursor) bool
}

// storeLog is the eventLog of the replicated state.
type storeLog struct{ n *Notifier }

func (l storeLog) start(name string) uint64 { return l.n.startCursor(name) }

func (l storeLog) pending(seq uint64) ([]Notification, *spec.Spec) { return l.n.pending(seq) }

func (l storeLog) changed() <-chan struct{} { return l.n.opts.Store.FSM().Changed() }

func (l storeLog) commit(ctx context.Context, c controller.NotifyCursor) bool {
	return l.n.proposeCursor(ctx, c)
}

// delivery is one channel's delivery loop.
type delivery struct {
	events  eventLog
	channel spec.Channel
	ch      Channel
	// backoff is the wait before retry attempt+1 (Notifier.backoff).
	backoff func(attempt int, after time.Duration) time.Duration
	timeout time.Duration // of one attempt
	log     *slog.Logger
}

// deliverLoop runs one channel against the replicated state.
func (n *Notifier) deliverLoop(ctx context.Context, c spec.Channel, ch Channel) {
	d := delivery{events: storeLog{n}, channel: c, ch: ch, backoff: n.backoff,
		timeout: n.opts.AttemptTimeout, log: n.logger.With("channel", c.Name, "type", c.Type)}
	d.run(ctx)
}

// run delivers every pending event in order, retrying each until it is
// accepted (or refused for good maxRefusals times), then records the
// cursor; it returns when ctx ends.
func (d *delivery) run(ctx context.Context) {
	name := d.channel.Name
	cursor := d.events.start(name)
	proposed := cursor
	lastErr := ""
	for ctx.Err() == nil {
		changed := d.events.changed()
		batch, s := d.events.pending(cursor)
		skipped := 0
		for _, note := range batch {
			if !wants(d.channel.Filters, note, s) {
				cursor = note.Seq
				skipped++
				continue
			}
			dropped, ok := d.deliver(ctx, note, proposed, &lastErr)
			if !ok {
				return
			}
			if dropped {
				proposed = note.Seq
			}
			cursor = note.Seq
		}
		// Skipped events move the cursor too, but are only worth a
		// commit when many piled up or something was delivered.
		if cursor != proposed && (skipped < len(batch) || cursor-proposed > 50 || lastErr != "") {
			if d.events.commit(ctx, controller.NotifyCursor{Channel: name, Seq: cursor}) {
				proposed, lastErr = cursor, ""
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// deliver sends one event until the receiver accepts it, waiting
// d.backoff between attempts. A new error is recorded in the cursor
// (at proposed, which does not move). An event refused for good
// maxRefusals times is dropped: dropped reports that its drop was
// committed. ok is false when ctx ended first.
func (d *delivery) deliver(ctx context.Context, note Notification, proposed uint64, lastErr *string) (dropped, ok bool) {
	name := d.channel.Name
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, d.timeout)
		err := d.ch.Deliver(actx, note)
		cancel()
		if err == nil {
			d.log.Debug("delivered", "event", note.ID)
			return false, true
		}
		if ctx.Err() != nil {
			return false, false
		}
		if refusedForGood(err) && attempt+1 >= maxRefusals {
			// Sending it again cannot succeed, and every later event
			// would wait behind it: give it up, loudly.
			drop := fmt.Sprintf("event %s (%s) dropped after %d refusals: %v", note.ID, note.Kind, attempt+1, err)
			d.log.Error("delivery refused for good; dropping the event", "event", note.ID, "attempts", attempt+1, "err", err)
			return d.events.commit(ctx, controller.NotifyCursor{Channel: name, Seq: note.Seq, Error: drop, Drop: drop}), true
		}
		wait := d.backoff(attempt, retryAfter(err))
		d.log.Warn("delivery failed; retrying", "event", note.ID, "attempt", attempt+1, "retry_in", wait.Round(time.Millisecond), "err", err)
		if msg := err.Error(); msg != *lastErr {
			*lastErr = msg
			d.events.commit(ctx, controller.NotifyCursor{Channel: name, Seq: proposed, Error: "event " + note.ID + ": " + msg})
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, false
		case <-t.C:
		}
	}
}
