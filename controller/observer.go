package controller

import (
	"context"
	"log/slog"
	"time"

	"github.com/seed3787e6f1/detour/health"
)

// Observer turns this node's health engine into reports: a report as soon
// as a local verdict changes, and one every ReportInterval regardless,
// which both proves the node alive and repairs anything a lost proposal
// left behind. Reports carry only what differs from what the cluster
// already holds for this node.
type Observer struct {
	store  *Store
	engine *health.Engine
	logger *slog.Logger
	kick   chan struct{}
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
func (o *Observer) Transition(health.Transition) {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// Run reports until ctx ends, and keeps the engine's targets in step
// with the replicated spec.
func (o *Observer) Run(ctx context.Context) {
	t := time.NewTicker(o.store.cfg.Timing.ReportInterval)
	defer t.Stop()
	var specVersion uint64
	for {
		changed := o.store.fsm.Changed()
		if s, v := o.store.fsm.Spec(); s != nil && v != specVersion {
			o.engine.Update(s)
			specVersion = v
		}
		force := false
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
		}
		o.report(ctx, force)
	}
}

// report proposes what differs between the engine and the cluster's
// record of this node; with force, even nothing.
func (o *Observer) report(ctx context.Context, force bool) {
	id := o.store.ID()
	if !o.store.IsVoter(id) {
		return // non-voters serve DNS; they do not vote on health
	}
	held := map[[2]string]Verdict{}
	view := o.store.fsm.View()
	for _, v := range view.Verdicts(id) {
		held[[2]string{v.Pool, v.Address}] = v.Verdict
	}
	if view.Spec() == nil {
		return
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
	if len(changes) == 0 && !force {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := o.store.Propose(cctx, &Command{Type: CmdObserverReport, Report: &ObserverReport{Observer: id, Changes: changes}}); err != nil {
		o.logger.Warn("health report not committed; retrying on the next tick", "changes", len(changes), "err", err)
	}
}
