package node

import "github.com/seed3787e6f1/detour/dnsserver"

// NSIDOff is the nsid setting that sends no NSID.
const NSIDOff = "off"

// nsid is the NSID the DNS server sends: the setting, or the node ID when
// it is empty, or none when it is "off".
func (c *Config) nsid() string {
	switch c.NSID {
	case "":
		return c.NodeID
	case NSIDOff:
		return ""
	}
	return c.NSID
}

func (c *Config) validateNSID(add func(format string, args ...any)) {
	if n := len(c.nsid()); n > dnsserver.MaxNSIDLen {
		add("--nsid: %d bytes, at most %d (set nsid: %s to send none)", n, dnsserver.MaxNSIDLen, NSIDOff)
	}
}
