package health

import (
	"fmt"
	"net/netip"
	"syscall"

	"github.com/seed3787e6f1/detour/spec"
)

// A spec author chooses where probes go. Left alone, a check could reach
// what only the node itself should: the cloud metadata service (and its
// credentials), services bound to loopback, link-local neighbours. The
// guard refuses those addresses at connect time, on the address actually
// dialled, so a host name that resolves to one, a redirect that leads to
// one and a DNS check's server are all caught. A node opts in to any of
// them by listing a network in Options.AllowNetworks; the list of what is
// refused is spec.ForbiddenTarget, which `detour check` also warns about.

// guard decides which addresses probes may connect to.
type guard struct {
	allow []netip.Prefix
}

// blockedError is a connection the guard refused.
type blockedError struct{ addr netip.Addr }

func (e *blockedError) Error() string {
	if !e.addr.IsValid() {
		return "target address is not an IP address"
	}
	return fmt.Sprintf("target address %s is not allowed by this node's check_allow_networks", e.addr)
}

// Unwrap makes the refusal an ErrTargetNotAllowed.
func (e *blockedError) Unwrap() error { return ErrTargetNotAllowed }

// permits reports whether a probe may connect to ip.
func (g *guard) permits(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	for _, p := range g.allow {
		if p.Contains(ip) {
			return true
		}
	}
	return !spec.ForbiddenTarget(ip)
}

// control is a net.Dialer Control function: it runs after the address
// is resolved and before the socket connects.
func (g *guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &blockedError{} // not an IP address: nothing a probe should dial
	}
	if !g.permits(ap.Addr()) {
		return &blockedError{addr: ap.Addr().Unmap().WithZone("")}
	}
	return nil
}
