package health

import (
	"net/netip"
	"syscall"

	"github.com/seed3787e6f1/detour/internal/netguard"
)

// A spec author chooses where probes go. Left alone, a check could reach
// what only the node itself should: the cloud metadata service (and its
// credentials), services bound to loopback, link-local neighbours. The
// guard refuses those addresses at connect time, on the address actually
// dialled, so a host name that resolves to one, a redirect that leads to
// one and a DNS check's server are all caught. A node opts in to any of
// them by listing a network in Options.AllowNetworks; the list of what is
// refused is spec.ForbiddenTarget, which `detour check` also warns about.
// The logic is netguard's, shared with notifications.

// allowSetting is the node setting that fills Options.AllowNetworks,
// named in refusals.
const allowSetting = "check_allow_networks"

// guard decides which addresses probes may connect to.
type guard struct {
	allow []netip.Prefix
}

func (g *guard) netguard() netguard.Guard {
	return netguard.Guard{Allow: g.allow, Setting: allowSetting}
}

// permits reports whether a probe may connect to ip.
func (g *guard) permits(ip netip.Addr) bool { return g.netguard().Permits(ip) }

// control is a net.Dialer Control function: it runs after the address
// is resolved and before the socket connects.
func (g *guard) control(network, address string, c syscall.RawConn) error {
	return g.netguard().Control(network, address, c)
}
