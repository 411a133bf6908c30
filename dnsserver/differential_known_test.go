package dnsserver_test

import (
	"encoding/hex"
	"slices"

	"github.com/miekg/dns"
)

// knownDiff is a difference between Knot DNS and detour that an RFC
// permits and detour keeps on purpose. applies edits both replies so that
// the difference no longer shows, and reports whether it did anything.
type knownDiff struct {
	name    string
	rfc     string
	applies func(s shape, knot, detour *reply) bool
}

// diffKnown lists every permitted difference; docs/dns-server.md lists
// the same. Keep it short: an entry hides a whole class of differences.
var diffKnown = []knownDiff{
	{
		name: "additional records that do not all fit: Knot keeps every one that still fits, detour the longest run of whole RRsets",
		rfc:  "RFC 2181 9 (additional data is optional; which to drop is the server's choice)",
		applies: func(s shape, knot, detour *reply) bool {
			if s.tcp || knot.msg == nil || detour.msg == nil || knot.msg.Truncated || detour.msg.Truncated ||
				udpLimit(s)-len(detour.raw) >= nearlyFull || !lessExtra(detour.msg, knot.msg) {
				return false
			}
			knot.msg.Extra = slices.DeleteFunc(knot.msg.Extra, func(rr dns.RR) bool {
				return rr.Header().Rrtype != dns.TypeOPT && !slices.ContainsFunc(detour.msg.Extra, func(x dns.RR) bool { return rrString(x) == rrString(rr) })
			})
			return true
		},
	},
	{
		name: "Knot drops a query with two questions; detour answers FORMERR (NOTIMP for another opcode)",
		rfc:  "RFC 9619 4 (QDCOUNT > 1 is FORMERR); RFC 1035 4.1.1 (NOTIMP)",
		applies: func(s shape, knot, detour *reply) bool {
			if s.qdcount != 2 || knot.msg != nil || detour.msg == nil {
				return false
			}
			*knot = formErr(s, knot.id)
			return true
		},
	},
	{
		name: "NOTIFY and UPDATE: Knot refuses them (NOTAUTH, FORMERR), detour implements neither and says NOTIMP",
		rfc:  "RFC 1996 and RFC 2136 2.2 (NOTIMP: opcode not supported)",
		applies: func(s shape, knot, detour *reply) bool {
			if s.opcode != dns.OpcodeNotify && s.opcode != dns.OpcodeUpdate || knot.msg == nil || detour.msg == nil ||
				detour.msg.Rcode != dns.RcodeNotImplemented || knot.msg.Rcode == dns.RcodeSuccess {
				return false
			}
			knot.msg.Rcode = dns.RcodeNotImplemented
			return true
		},
	},
	{
		name: "a transfer the zone does not allow: Knot answers NOTAUTH, detour REFUSED",
		rfc:  "RFC 1035 4.1.1 (REFUSED: refused for policy reasons); RFC 5936 2.2.1 leaves the error to the server",
		applies: func(s shape, knot, detour *reply) bool {
			if s.qtype != dns.TypeAXFR && s.qtype != dns.TypeIXFR || !s.tcp || knot.msg == nil || detour.msg == nil ||
				knot.msg.Rcode != dns.RcodeNotAuth || detour.msg.Rcode != dns.RcodeRefused {
				return false
			}
			knot.msg.Rcode = dns.RcodeRefused
			return true
		},
	},
	{
		name: "Knot clears CD in some error replies (refused transfers); detour copies it",
		rfc:  "RFC 4035 3.1.6 (the CD bit is copied from the query)",
		applies: func(s shape, knot, detour *reply) bool {
			if !s.cd || knot.msg == nil || detour.msg == nil || knot.msg.CheckingDisabled || !detour.msg.CheckingDisabled || knot.msg.Rcode == dns.RcodeSuccess {
				return false
			}
			knot.msg.CheckingDisabled = true
			return true
		},
	},
}

// formErr is the reply RFC 9619 asks for to a query of shape s with
// two questions: FORMERR (NOTIMP for an opcode other than QUERY), no
// question, RD copied, and an OPT record if the query had one, with the
// NSID if it asked, as both servers answer a query with no question.
func formErr(s shape, id uint16) reply {
	m := &dns.Msg{MsgHdr: dns.MsgHdr{Id: id, Response: true, Opcode: s.opcode, RecursionDesired: s.rd, Rcode: dns.RcodeFormatError}}
	if s.opcode != dns.OpcodeQuery {
		m.Rcode = dns.RcodeNotImplemented
	}
	if s.edns {
		m.SetEdns0(1232, s.do)
		if s.nsid {
			opt := m.IsEdns0()
			opt.Option = append(opt.Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID, Nsid: hex.EncodeToString([]byte(diffNSID))})
		}
	}
	return reply{id: id, msg: m}
}

// nearlyFull is room for one A and one AAAA record with compressed
// names: a UDP reply with less room left than this is full.
const nearlyFull = 16 + 28

// udpLimit is the largest UDP reply to s: 512 bytes without EDNS, else
// the client's buffer up to the 1232 both servers offer.
func udpLimit(s shape) int {
	if !s.edns {
		return 512
	}
	return min(max(int(s.bufsize), 512), 1232)
}

// lessExtra reports whether d's additional records are a strict subset
// of k's, the missing ones addresses, with every other section alike.
func lessExtra(d, k *dns.Msg) bool {
	rrs := func(m *dns.Msg) []string {
		var out []string
		for _, rr := range m.Extra {
			if rr.Header().Rrtype != dns.TypeOPT {
				out = append(out, rrString(rr))
			}
		}
		return out
	}
	de, ke := rrs(d), rrs(k)
	if len(de) >= len(ke) || len(d.Answer) != len(k.Answer) || len(d.Ns) != len(k.Ns) {
		return false
	}
	for _, x := range de {
		if !slices.Contains(ke, x) {
			return false
		}
	}
	for _, rr := range k.Extra {
		t := rr.Header().Rrtype
		if t != dns.TypeA && t != dns.TypeAAAA && t != dns.TypeOPT && !slices.Contains(de, rrString(rr)) {
			return false
		}
	}
	return true
}
