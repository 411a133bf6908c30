package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/seed3787e6f1/detour/health"
)

// Observer turns this node's health engine into reports: a report as soon
// as a local verdict changes, and one every ReportInterval regardless,
// which both proves the node alive and repairs anything a lost proposal
// left behind. Reports carry only what differs from what the cluster
// already holds for this node, or will once this node applies its own
// reports that committed (region_reports.go).
type Observer struct {
	store  *Store
	engine *health.Engine
	logger *slog.Logger
	kick   chan struct{}
	// committed are the reports committed but not yet applied here
	// (region_reports.go); only Run's goroutine uses it.
	committed committedReports
}

// NewObserver wires a store and a health engine. Use it as the engine's
// sink.
func NewObserver(store *Store, logger *slog.Logger) *Observer {
	return &Observer{store: store, logger: logger, kick: make(chan struct{}, 1)}
}

// SetEngine sets the engine whose view is reported (the engine is built
// with the observer as its sink, so it comes second).
func (o *Observer) SetEngine(e *health.Engine) { o.engine = e }

// Transition implements health.Sink; it never blocks the probe.
func (o *Observer) Transition(tr health.Transition) {
	o.logger.Debug("verdict changed", "pool", tr.Target.Pool, "address", tr.Target.Address, "to", tr.To.String(), "at", tr.At)
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// Run reports until ctx ends, and keeps the engine's targets in step
// with the replicated spec. A report that did not commit is sent again as
// soon as this node learns of another leader (or after retryPause), not
// on the next tick: after a failover it is on the critical path.
func (o *Observer) Run(ctx context.Context) {
	t := time.NewTicker(o.store.cfg.Timing.ReportInterval)
	defer t.Stop()
	var specVersion uint64
	var retry <-chan time.Time // set while a report is owed
	var moved <-chan struct{}  // the same
	owed := false              // a failed report was forced
	for {
		changed := o.store.fsm.Changed()
		if s, v := o.store.fsm.Spec(); s != nil && v != specVersion {
			o.engine.Update(s)
			specVersion = v
		}
		force := owed
		select {
		case <-ctx.Done():
			return
		case <-changed:
			continue
		case <-o.kick:
			// Let the rest of a burst (a whole datacenter) arrive.
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		case <-t.C:
			force = true
		case <-moved:
		case <-retry:
		}
		retry, moved, owed = nil, nil, false
		// A node with a problem (halted, log failing) refuses at once:
		// its ticks retry, not a loop of warnings.
		if err := o.report(ctx, force); err != nil && ctx.Err() == nil && o.store.Problem() == nil {
			owed = force
			retry, moved = time.After(retryPause), o.store.lead.leaderMoved()
		}
	}
}

// retryPause is how long a report that did not commit waits before it is
// sent again when no other leader becomes known meanwhile.
const retryPause = 250 * time.Millisecond

// errLeaderMoved abandons a report in flight: the leader it went to is
// no longer the one this node knows.
var errLeaderMoved = errors.New("the leader changed")

// report proposes what differs between the engine and the cluster's
// record of this node; with force, even nothing. A report in flight when
// this node learns of another leader is abandoned and made again at once
// from the latest verdicts, for the new leader.
func (o *Observer) report(ctx context.Context, force bool) error {
	id := o.store.ID()
	if !o.store.IsVoter(id) {
		return nil // non-voters serve DNS; they do not vote on health
	}
	var err error
	for range maxResends {
		moved := o.store.lead.leaderMoved() // before the changes are read
		changes, ok := o.changes(id)
		if !ok || (len(changes) == 0 && !force) {
			return nil
		}
		if err = o.propose(ctx, id, changes, moved); !errors.Is(err, errLeaderMoved) {
			break
		}
	}
	if err != nil {
		o.logger.Warn("health report not committed; sending it again on a leader change or shortly", "err", err)
	}
	return err
}

// maxResends bounds the reports made again at once after a leader change
// (a flapping leadership would otherwise keep the loop from its ticks).
const maxResends = 4

// propose commits one report, abandoning it with errLeaderMoved once
// moved closes. Its deadline is the time within which a follower stands
// for election when its leader went quiet: past it the report is made
// again from the latest verdicts rather than held for one leader.
func (o *Observer) propose(ctx context.Context, id string, changes []VerdictChange, moved <-chan struct{}) error {
	tm := o.store.cfg.Timing
	cctx, cancel := context.WithTimeout(ctx, max(2*tm.HeartbeatTimeout+tm.ElectionTimeout, time.Second))
	defer cancel()
	mctx, abandon := context.WithCancelCause(cctx)
	defer abandon(nil)
	go func() {
		select {
		case <-moved:
			abandon(errLeaderMoved)
		case <-mctx.Done():
		}
	}()
	start := time.Now()
	res, err := o.store.Propose(mctx, &Command{Type: CmdObserverReport, Report: &ObserverReport{Observer: id, Changes: changes}})
	if err == nil {
		o.committed.note(res.Index, changes)
	}
	o.logger.Debug("health report", "changes", len(changes), "down", countDown(changes), "proposed", start, "took", time.Since(start), "err", err)
	if err != nil && errors.Is(context.Cause(mctx), errLeaderMoved) {
		return fmt.Errorf("report of %d changes: %w", len(changes), errLeaderMoved)
	}
	if err != nil {
		return fmt.Errorf("report of %d changes: %w", len(changes), err)
	}
	return nil
}

// changes lists what differs between the engine's verdicts and the
// cluster's record of this node; false before a spec is in force.
func (o *Observer) changes(id string) ([]VerdictChange, bool) {
	held := map[[2]string]Verdict{}
	view := o.store.fsm.View()
	for _, v := range view.Verdicts(id) {
		held[[2]string{v.Pool, v.Address}] = v.Verdict
	}
	o.committed.over(view.Index(), held)
	if view.Spec() == nil {
		return nil, false
	}
	var changes []VerdictChange
	seen := map[[2]string]bool{}
	for _, v := range o.engine.View() {
		k := [2]string{v.Target.Pool, v.Target.Address}
		seen[k] = true
		if v.Verdict == health.Unknown {
			continue
		}
		up := v.Verdict == health.Up
		if h, ok := held[k]; ok && h.Up == up {
			continue
		}
		changes = append(changes, VerdictChange{Pool: v.Target.Pool, Address: v.Target.Address, Up: up,
			Reason: v.LastReason, Latency: float64(v.LastLatency.Microseconds()) / 1000})
	}
	for k := range held {
		if !seen[k] {
			changes = append(changes, VerdictChange{Pool: k[0], Address: k[1], Forget: true})
		}
	}
	return changes, true
}

// countDown is how many of changes say down.
func countDown(changes []VerdictChange) int {
	n := 0
	for _, c := range changes {
		if !c.Up && !c.Forget {
			n++
		}
	}
	return n
}
