package dnsserver

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// FuzzServe feeds arbitrary packets to the handler: it must never panic,
// and every reply must be a well-formed response to the query's ID.
func FuzzServe(f *testing.F) {
	snap := buildSnapshot(f, testSpec, wwwAnswer("192.0.2.10", "198.51.100.10"), nil, time.Now())
	h := NewHandler(fixed{snap}, Options{Chaos: true, Version: "v", Identity: "i", NSID: "node-1"})
	// wide has answers and referrals whose additional records overflow
	// 512 bytes: the trimming of optional records gets fuzzed.
	wide := NewHandler(fixed{buildSnapshot(f, replySpec(), nil, nil, time.Now())}, Options{NSID: "node-1"})
	// limited answers cookies too, and over UDP slips all but the first
	// response of each class: truncated replies get fuzzed as well.
	limited := NewHandler(fixed{snap}, Options{})
	var err error
	if limited.cookies, err = newCookies(nil); err != nil {
		f.Fatal(err)
	}
	if limited.rrl, err = newLimiter(RRLConfig{Rate: 1, Slip: 1}); err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{"www.example.test.", "docs.example.test.", "x.apps.example.test.", "nope.example.test.", "other.test."} {
		for _, t := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeANY, dns.TypeMX, dns.TypeSOA} {
			for _, edns := range []bool{false, true} {
				m := new(dns.Msg)
				m.SetQuestion(name, t)
				if edns {
					m.SetEdns0(512, true)
					m.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0011223344556677"}}
				}
				b, _ := m.Pack()
				f.Add(b, false, false)
				f.Add(b, true, false)
				f.Add(b, false, true)
			}
		}
	}
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0xC0, 0x0C, 0, 1, 0, 1}, false, false)
	for _, m := range []*dns.Msg{
		msgOpt("manymx.example.test.", dns.TypeMX, false), msgOpt("x.sibdeleg.example.test.", dns.TypeA, false),
		msgOpt("x.bigdeleg.example.test.", dns.TypeA, true, nsidOpt), msgOpt("widemx.example.test.", dns.TypeMX, true, nsidOpt, cookieOpt),
	} {
		f.Add(mustPackF(f, m), false, false)
	}
	ixfr := msgOpt("example.test.", dns.TypeIXFR, true, nsidOpt)
	ixfr.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "example.test.", Rrtype: dns.TypeSOA, Class: dns.ClassINET}, Ns: "ns.", Mbox: "h."}}
	f.Add(mustPackF(f, ixfr), false, false)
	noQ := msgOpt("example.test.", dns.TypeA, true, cookieOpt)
	noQ.Question = nil
	f.Add(mustPackF(f, noQ), false, false)
	client := netip.MustParseAddr("192.0.2.1")
	f.Fuzz(func(t *testing.T, msg []byte, tcp, limit bool) {
		sc := NewScratch(7)
		out := h.Serve(msg, sc, tcp)
		if limit {
			out = limited.ServeFrom(msg, sc, client, tcp)
		}
		if w := wide.Serve(msg, NewScratch(7), tcp); w != nil {
			checkFuzzReply(t, msg, w, tcp)
		}
		if out != nil {
			checkFuzzReply(t, msg, out, tcp)
		}
	})
}

// checkFuzzReply fails unless out is a well-formed response to msg, of a
// size the transport allows.
func checkFuzzReply(t *testing.T, msg, out []byte, tcp bool) {
	t.Helper()
	if len(out) < headerLen || len(msg) < 2 {
		t.Fatalf("reply of %d bytes to %d", len(out), len(msg))
	}
	if binary.BigEndian.Uint16(out) != binary.BigEndian.Uint16(msg) {
		t.Fatalf("reply ID differs from query ID")
	}
	if out[2]&0x80 == 0 {
		t.Fatalf("reply without QR")
	}
	if !tcp && len(out) > DefaultMaxUDPSize {
		t.Fatalf("UDP reply of %d bytes", len(out))
	}
	r := new(dns.Msg)
	if err := r.Unpack(out); err != nil {
		t.Fatalf("reply does not parse: %v\nquery %x\nreply %x", err, msg, out)
	}
	if !tcp && r.IsEdns0() == nil && len(out) > MinUDPSize {
		t.Fatalf("UDP reply without EDNS of %d bytes", len(out))
	}
}

func mustPackF(f *testing.F, m *dns.Msg) []byte {
	b, err := m.Pack()
	if err != nil {
		f.Fatal(err)
	}
	return b
}
