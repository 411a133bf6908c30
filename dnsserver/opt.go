package dnsserver

import (
	"encoding/hex"

	"github.com/miekg/dns"
)

// optRR is the OPT record of a reply built as a message (signed replies,
// zone transfers) to query q, or nil when q had none: what appendOPT
// writes on the wire, as a record.
func optRR(q *query, msg []byte, ede int) *dns.OPT {
	if !q.edns {
		return nil
	}
	o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: q.serverUDPSize()}}
	if q.do {
		o.SetDo()
	}
	if q.co {
		o.SetCo(true)
	}
	if ede >= 0 {
		o.Option = append(o.Option, &dns.EDNS0_EDE{InfoCode: uint16(ede)})
	}
	if q.srvCookieSet {
		c := append(append([]byte(nil), msg[q.cookie:q.cookie+clientCookieLen]...), q.srvCookie[:]...)
		o.Option = append(o.Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: hex.EncodeToString(c)})
	}
	if q.nsidVal != "" {
		o.Option = append(o.Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID, Nsid: hex.EncodeToString([]byte(q.nsidVal))})
	}
	if e := ecsOption(q); e != nil {
		o.Option = append(o.Option, e)
	}
	return o
}
