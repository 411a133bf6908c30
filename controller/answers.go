package controller

import (
	"net/netip"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/policy"
)

// DynamicAnswers turns decisions into the DNS server's dynamic answers:
// each answer group becomes a variant of the record's resource records.
func DynamicAnswers(ds []Decision) []dnsserver.DynamicAnswer {
	out := make([]dnsserver.DynamicAnswer, 0, len(ds))
	for _, d := range ds {
		da := dnsserver.DynamicAnswer{Name: d.Name, Type: dns.StringToType[d.Type], Geo: geoAnswer(d)}
		for _, g := range d.Groups {
			da.Variants = append(da.Variants, dnsserver.Variant{Weight: g.Weight, RRs: records(d, g)})
		}
		out = append(out, da)
	}
	return out
}

// records builds the resource records of decision d answering group g.
func records(d Decision, g policy.AnswerGroup) []dns.RR {
	out := make([]dns.RR, 0, len(g.Answers))
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: d.Name, Rrtype: t, Class: dns.ClassINET, Ttl: d.TTL}
	}
	for _, a := range g.Answers {
		switch d.Type {
		case "A", "AAAA":
			ip, err := netip.ParseAddr(a)
			if err != nil {
				continue // validated earlier; never here
			}
			if d.Type == "A" {
				out = append(out, &dns.A{Hdr: hdr(dns.TypeA), A: ip.AsSlice()})
			} else {
				out = append(out, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: ip.AsSlice()})
			}
		case "CNAME":
			out = append(out, &dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: dns.Fqdn(a)})
		}
	}
	return out
}
