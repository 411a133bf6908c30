package node

import (
	"context"
	"time"

	"github.com/seed3787e6f1/detour/controller"
)

// syncProviderStatus commits each provider's sync state whenever it
// changes, so every node can show it. It is a leader task: ctx is the
// leader's term.
func (n *Node) syncProviderStatus(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for _, s := range n.providers.Status() {
			if !s.Active {
				continue
			}
			p := &controller.ProviderSync{Name: s.Name, Type: s.Type, Zone: s.Zone, InSync: s.InSync, Pending: s.Pending,
				LastSuccess: s.LastSuccess.Truncate(time.Second).UTC(), LastError: s.LastError, LastErrorAt: s.LastErrorAt.UTC(), By: n.cfg.NodeID}
			if old, ok := n.store.FSM().View().Provider(s.Name); ok && p.Same(&old) {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			if _, err := n.store.Propose(cctx, &controller.Command{Type: controller.CmdProviderSync, Provider: p}); err != nil {
				n.logger.Debug("committing provider status", "provider", s.Name, "err", err)
			}
			cancel()
		}
	}
}
