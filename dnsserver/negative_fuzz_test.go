package dnsserver

import (
	"testing"

	"github.com/miekg/dns"
)

// FuzzNegativeAsResolver serves arbitrary query bytes with and without the
// fast negatives (negSpec) and wants the same reply, byte for byte.
func FuzzNegativeAsResolver(f *testing.F) {
	fast, slow := negHandlers(f)
	for _, name := range []string{"nope.neg.test.", "a.neg.test.", "ent.neg.test.", "x.y.ent.neg.test.", "MiXeD.neg.test.",
		"j.inner.neg.test.", "nope.wild.test.", "nope.signed.test.", "x.ns1.neg.test.", "neg.test.", "www.neg.test.", "down.neg.test."} {
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeMX, dns.TypeTXT, dns.TypeDS, 65280} {
			for _, edns := range []bool{false, true} {
				m := new(dns.Msg)
				m.SetQuestion(name, qt)
				if edns {
					m.SetEdns0(512, qt == dns.TypeMX)
					m.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_NSID{Code: dns.EDNS0NSID}}
				}
				b, _ := m.Pack()
				f.Add(b, false)
				f.Add(b, true)
			}
		}
	}
	scF, scS := NewScratch(3), NewScratch(3)
	f.Fuzz(func(t *testing.T, msg []byte, tcp bool) {
		in := append([]byte(nil), msg...)
		got := append([]byte(nil), fast.Serve(in, scF, tcp)...)
		if string(in) != string(msg) {
			t.Fatalf("fast path changed the query")
		}
		want := append([]byte(nil), slow.Serve(msg, scS, tcp)...)
		if string(got) == string(want) {
			return
		}
		var q dns.Msg
		if q.Unpack(msg) != nil {
			// miekg/dns rejects what the fast path's parser takes (an
			// EDNS option of a length miekg/dns does not accept): the
			// fast path answers such queries, positive or negative, and
			// the resolver says FORMERR.
			return
		}
		var g, w dns.Msg
		ge, we := g.Unpack(got), w.Unpack(want)
		t.Fatalf("query % x:\nfast (%v, %d bytes):\n%v\nslow (%v, %d bytes):\n%v", msg, ge, len(got), &g, we, len(want), &w)
	})
}
