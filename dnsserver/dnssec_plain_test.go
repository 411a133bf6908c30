package dnsserver_test

import (
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/spec"
)

// TestApexDNSSECTypesWithoutDO asks the DNSKEY, CDS and CDNSKEY RRsets
// of a signed zone without DO, with and without EDNS, over UDP and TCP
// (with an NSID option), and wants the RRset, without RRSIG (RFC 4035
// 3.1): Zonemaster's DNSSEC11 asks DNSKEY so.
func TestApexDNSSECTypesWithoutDO(t *testing.T) {
	_, srv, _ := startSigned(t, spec.AlgECDSAP256SHA256)
	for _, qt := range []uint16{dns.TypeDNSKEY, dns.TypeCDS, dns.TypeCDNSKEY} {
		for _, c := range []struct {
			name      string
			net       string
			edns, opt bool
		}{{"udp-noedns", "udp", false, false}, {"udp-edns", "udp", true, false}, {"tcp-nsid", "tcp", true, true}} {
			t.Run(dns.TypeToString[qt]+"/"+c.name, func(t *testing.T) {
				m := new(dns.Msg)
				m.SetQuestion("example.test.", qt)
				if c.edns {
					m.SetEdns0(1232, false)
				}
				if c.opt {
					m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID})
				}
				r, _, err := (&dns.Client{Net: c.net, Timeout: 2 * time.Second}).Exchange(m, srv.Addr())
				if err != nil {
					t.Fatal(err)
				}
				if !r.Authoritative || r.Rcode != dns.RcodeSuccess || countType(r, qt) != 1 || countType(r, dns.TypeRRSIG) != 0 {
					t.Errorf("want one %s, no RRSIG:\n%s", dns.TypeToString[qt], r)
				}
			})
		}
	}
}
