package node

import (
	"context"
	"log/slog"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/health"
)

// localHealth feeds the health engine's verdicts to a node that decides
// alone: every transition schedules a republish of the answers, coalesced
// so that a datacenter's worth of transitions costs one rebuild.
type localHealth struct {
	engine *health.Engine
	ctrl   *controller.Local
	logger *slog.Logger
	kick   chan struct{}
}

func newLocalHealth(ctrl *controller.Local, logger *slog.Logger) (*localHealth, error) {
	lh := &localHealth{ctrl: ctrl, logger: logger, kick: make(chan struct{}, 1)}
	e, err := health.New(logger, health.SinkFunc(lh.transition), health.Options{})
	if err != nil {
		return nil, err
	}
	lh.engine = e
	return lh, nil
}

func (lh *localHealth) transition(t health.Transition) {
	lh.logger.Info("health transition", "pool", t.Target.Pool, "endpoint", t.Target.Address,
		"from", t.From, "to", t.To, "reason", t.Reason)
	select {
	case lh.kick <- struct{}{}:
	default:
	}
}

// run republishes answers after transitions until ctx ends.
func (lh *localHealth) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-lh.kick:
		}
		// Let a burst of transitions land first.
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
		if err := lh.ctrl.SetHealth(lh.snapshot()); err != nil {
			lh.logger.Error("publish answers", "err", err)
		}
	}
}

// snapshot is the engine's current view as the policy reads it.
func (lh *localHealth) snapshot() controller.Health {
	view := healthView{}
	for _, st := range lh.engine.View() {
		if st.Verdict == health.Unknown {
			continue
		}
		view[st.Target] = controller.EndpointHealth{Known: true, Up: st.Verdict == health.Up, Reason: st.LastReason}
	}
	return view
}

type healthView map[health.TargetID]controller.EndpointHealth

func (v healthView) Endpoint(pool, addr string) controller.EndpointHealth {
	return v[health.TargetID{Pool: pool, Address: addr}]
}
