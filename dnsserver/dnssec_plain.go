package dnsserver

import "github.com/miekg/dns"

// apexPlainTypes are the apex RRsets a signed zone's server adds (the
// spec does not hold them) that a query without DO must get too.
var apexPlainTypes = [...]uint16{dns.TypeDNSKEY, dns.TypeCDS, dns.TypeCDNSKEY}

// apexPlain makes res, the answer to a query without DO, hold the
// DNSKEY, CDS or CDNSKEY RRset asked for at a signed zone's apex,
// without RRSIG: DO only says whether to add DNSSEC records to an
// answer; a query that asks for one of these types by name gets it
// (RFC 4035 3.1, RFC 3225 3), as Zonemaster's DNSSEC11 asks.
func (d *signedData) apexPlain(res *resolution, qname string, qtype uint16) {
	if d == nil || res.refused || res.rcode != dns.RcodeSuccess || len(res.answer) != 0 {
		return
	}
	zsg := d.zones[qname]
	if zsg == nil {
		return
	}
	if set := zsg.apexSet(qtype); len(set) > 0 {
		res.answer, res.ns = set, nil
	}
}

// packApexPlain packs, into the snapshot's DO=0 answers, the unsigned
// answers apexPlain gives at every signed zone's apex.
func (s *Snapshot) packApexPlain() {
	for origin := range s.dnssec.zones {
		for _, t := range apexPlainTypes {
			r := &resolver{zs: s.zs, snap: s, pick: func([]Variant) int { return 0 }}
			res := r.resolve(origin, t)
			s.dnssec.apexPlain(&res, origin, t)
			if len(res.answer) == 0 {
				continue
			}
			if w := packResolution(&res, origin, t, nil); w != nil {
				s.overlay[string(wireKey(nil, origin, t))] = &packed{wire: w}
			}
		}
	}
}
