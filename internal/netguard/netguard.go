// Package netguard refuses outbound connections to the addresses only the
// node itself should reach, unless the node's settings allow them.
//
// A spec author chooses where a node connects: health checks probe its
// endpoints, notifications post to its webhooks and mail servers. Left
// alone, a spec could reach the cloud metadata service (and its
// credentials), services bound to loopback (the node's own API among
// them) or link-local neighbours. A Guard is a net.Dialer Control
// function: it runs after the name is resolved and before the socket
// connects, on the address actually dialled, so a host name that
// resolves to a refused address and a redirect that leads to one are
// caught alike. What is refused is spec.ForbiddenTarget.
package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"github.com/seed3787e6f1/detour/spec"
)

// ErrNotAllowed means a connection was refused: its address is one the
// node does not allow (see Guard).
var ErrNotAllowed = errors.New("target address not allowed")

// Guard decides which addresses a connection may go to: any but those
// spec.ForbiddenTarget names, and of those the ones in Allow.
type Guard struct {
	// Allow lists networks allowed although forbidden by default.
	Allow []netip.Prefix
	// Setting is the node setting that fills Allow; refusals name it so
	// that an operator knows what to change.
	Setting string
}

// BlockedError is a connection the guard refused.
type BlockedError struct {
	// Addr is the refused address; the zero Addr means the address was
	// not an IP address.
	Addr netip.Addr
	// Setting is the node setting that would allow it.
	Setting string
}

func (e *BlockedError) Error() string {
	if !e.Addr.IsValid() {
		return "target address is not an IP address"
	}
	return fmt.Sprintf("target address %s is not allowed by this node's %s", e.Addr, e.Setting)
}

// Unwrap makes the refusal an ErrNotAllowed.
func (e *BlockedError) Unwrap() error { return ErrNotAllowed }

// Permits reports whether a connection may go to ip.
func (g Guard) Permits(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	for _, p := range g.Allow {
		if p.Contains(ip) {
			return true
		}
	}
	return !spec.ForbiddenTarget(ip)
}

// Control is a net.Dialer Control function: it refuses, before the socket
// connects, an address the guard does not permit.
func (g Guard) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &BlockedError{Setting: g.Setting} // not an IP address: nothing to dial
	}
	if !g.Permits(ap.Addr()) {
		return &BlockedError{Addr: ap.Addr().Unmap().WithZone(""), Setting: g.Setting}
	}
	return nil
}

// Dialer returns a dialer whose every connection passes the guard.
func (g Guard) Dialer() *net.Dialer {
	return &net.Dialer{Control: g.Control}
}

// ParseNetworks parses a setting's networks: CIDR (10.0.0.0/8) or an
// address alone, which is its own network; the error names the setting
// and every bad entry.
func ParseNetworks(setting string, nets []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var bad []string
	for _, n := range nets {
		n = strings.TrimSpace(n)
		if a, err := netip.ParseAddr(n); err == nil && a.Zone() == "" {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(n)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%q", n))
			continue
		}
		out = append(out, p.Masked())
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s: %s: want networks such as 10.0.0.0/8 or 2001:db8::/48, or addresses", setting, strings.Join(bad, ", "))
	}
	return out, nil
}
