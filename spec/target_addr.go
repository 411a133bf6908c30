package spec

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// forbiddenTargets are the networks a node's probes stay away from unless
// its check_allow_networks lists them: what only the node itself should
// reach.
var forbiddenTargets = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network": 0.0.0.0 reaches the node itself
	netip.MustParsePrefix("127.0.0.0/8"),        // loopback
	netip.MustParsePrefix("169.254.0.0/16"),     // link-local, with the metadata service at 169.254.169.254
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud metadata
	netip.MustParsePrefix("224.0.0.0/4"),        // multicast
	netip.MustParsePrefix("255.255.255.255/32"), // limited broadcast
	netip.MustParsePrefix("::/128"),             // unspecified
	netip.MustParsePrefix("::1/128"),            // loopback
	netip.MustParsePrefix("fe80::/10"),          // link-local
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS metadata over IPv6
	netip.MustParsePrefix("ff00::/8"),           // multicast
}

// nat64 is the well-known NAT64 prefix (RFC 6052): 64:ff9b::a9fe:a9fe
// reaches 169.254.169.254 through a NAT64 gateway.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// ForbiddenTarget reports whether ip is an address health checks do not
// connect to unless the node allows it: loopback, link-local, cloud
// metadata, unspecified, multicast or broadcast, also in IPv4-mapped and
// NAT64 form.
func ForbiddenTarget(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	for _, p := range forbiddenTargets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// lintCheckTargets warns about endpoints whose probe address is a literal
// forbidden address, once per address: each node refuses to probe it
// unless its own check_allow_networks allows it, so the spec alone cannot
// say whether the check will run. Addresses in allowed (a node's
// check_allow_networks) are left out.
func (s *Spec) lintCheckTargets(allowed []netip.Prefix) []Problem {
	checks := map[string]*Check{}
	for i := range s.Checks {
		checks[s.Checks[i].Name] = &s.Checks[i]
	}
	var order []netip.Addr
	paths := map[netip.Addr][]string{}
	for i, p := range s.Pools {
		c := checks[p.Check]
		if c == nil || c.Type == CheckHeartbeat {
			continue
		}
		for j, ep := range p.Endpoints {
			path, host := fmt.Sprintf("pools[%d].endpoints[%d].address", i, j), ep.Address
			if ep.CheckAddress != "" {
				path = fmt.Sprintf("pools[%d].endpoints[%d].check_address", i, j)
				host, _, _ = net.SplitHostPort(ep.CheckAddress)
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || !ForbiddenTarget(ip) || slices.ContainsFunc(allowed, func(n netip.Prefix) bool { return n.Contains(ip.Unmap()) }) {
				continue
			}
			if paths[ip] == nil {
				order = append(order, ip)
			}
			paths[ip] = append(paths[ip], path)
		}
	}
	out := make([]Problem, 0, len(order))
	for _, ip := range order {
		path := paths[ip][0]
		if n := len(paths[ip]) - 1; n > 0 {
			path += fmt.Sprintf(" (and %d more)", n)
		}
		out = append(out, Problem{Path: path, Message: fmt.Sprintf(
			"%s is a loopback, link-local, metadata, multicast or unspecified address: nodes refuse to probe it (the check reports down) unless their check_allow_networks allows it", ip)})
	}
	return out
}
