package node

import (
	"log/slog"
	"net/netip"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/notify"
	"github.com/seed3787e6f1/detour/spec"
)

func (c *Config) notifyAllowNetworks() ([]netip.Prefix, error) {
	return c.allowNetworks("notify_allow_networks", c.NotifyAllowNetworks)
}

// newNotifier wires the notifier: it delivers events while this node
// leads, to the addresses the node allows.
func newNotifier(store *controller.Store, cfg Config, logger *slog.Logger) *notify.Notifier {
	allow, _ := cfg.notifyAllowNetworks() // Validate parsed them
	return notify.New(notify.Options{Store: store, Logger: logger.With("component", "notify"),
		Deps: notify.Deps{AllowNetworks: allow, Getenv: specEnv(cfg.envPolicy(), spec.EnvNotify, logger)}})
}
