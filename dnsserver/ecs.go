package dnsserver

import (
	"encoding/binary"
	"net/netip"

	"github.com/miekg/dns"
)

// ECS families (RFC 7871 6, IANA address family numbers).
const (
	ecsFamilyIPv4 = 1
	ecsFamilyIPv6 = 2
)

// parseECS reads an EDNS Client Subnet option's data (RFC 7871 6) at
// msg[off:off+l] into q. It reports false for a malformed option, which
// gets FORMERR: an unknown family, a source prefix longer than the
// family's addresses, a scope other than 0 (queries carry 0), an address
// of other than ceil(source/8) octets, or address bits set beyond the
// source prefix.
func (q *query) parseECS(msg []byte, off, l int) bool {
	if l < 4 || q.ecs {
		return false // too short, or a second ECS option
	}
	family := binary.BigEndian.Uint16(msg[off:])
	source, scope := msg[off+2], msg[off+3]
	addr := msg[off+4 : off+l]
	width := 0
	switch family {
	case ecsFamilyIPv4:
		width = 32
	case ecsFamilyIPv6:
		width = 128
	default:
		return false
	}
	if int(source) > width || scope != 0 || len(addr) != (int(source)+7)/8 {
		return false
	}
	if len(addr) > 0 && source%8 != 0 && addr[len(addr)-1]&(0xFF>>(source%8)) != 0 {
		return false
	}
	// Byte by byte: at most 16, cheaper than a call to copy them.
	for i, b := range addr {
		q.ecsIP[i&15] = b
	}
	q.ecs, q.ecs6, q.ecsOff, q.ecsLen, q.ecsSource = true, width == 128, off, l, source
	return true
}

// ecsAddr is the address of q's ECS option (its bits beyond the source
// prefix zero). It is kept as bytes and made an address only when
// needed: storing an address in q costs more than making one.
func (q *query) ecsAddr() netip.Addr {
	if q.ecs6 {
		return netip.AddrFrom16(q.ecsIP)
	}
	return netip.AddrFrom4([4]byte(q.ecsIP[:4]))
}

// ecsSize is the length of the ECS option a reply to q carries: the
// query's, with the scope set (RFC 7871 7.2.1 copies FAMILY, SOURCE
// PREFIX-LENGTH and ADDRESS).
func (q *query) ecsSize() int {
	if !q.ecs {
		return 0
	}
	return 4 + q.ecsLen
}

// appendECS appends the reply's ECS option: the query's with
// q.ecsScope, which is 0 unless the answer depended on the client.
func appendECS(out, msg []byte, q *query) []byte {
	if !q.ecs {
		return out
	}
	out = append(out, 0, byte(dns.EDNS0SUBNET), byte(q.ecsLen>>8), byte(q.ecsLen))
	start := len(out)
	out = append(out, msg[q.ecsOff:q.ecsOff+q.ecsLen]...)
	out[start+3] = q.ecsScope
	return out
}

// ecsOption is the reply's ECS option as a record option, for replies
// built as messages.
func ecsOption(q *query) *dns.EDNS0_SUBNET {
	if !q.ecs {
		return nil
	}
	e := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, SourceNetmask: q.ecsSource, SourceScope: q.ecsScope, Family: ecsFamilyIPv4, Address: q.ecsAddr().AsSlice()}
	if q.ecs6 {
		e.Family = ecsFamilyIPv6
	}
	return e
}
