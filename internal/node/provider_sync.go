package node

import (
	"context"
	"time"

	"github.com/seed3787e6f1/detour/controller"
)

// syncProviderStatus commits, while this node leads, each provider's sync
// state whenever it changes, so every node can show it.
func (n *Node) syncProviderStatus(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !n.store.IsLeader() {
			continue
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
			if err := n.store.Propose(cctx, &controller.Command{Type: controller.CmdProviderSync, Provider: p}); err != nil {
				n.logger.Debug("committing provider status", "provider", s.Name, "err", err)
			}
			cancel()
		}
	}
}
