package dnsserver

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/spec"
)

// negHandlersFor serves the spec text with and without the fast
// negatives, as negHandlers does.
func negHandlersFor(t testing.TB, text string) (fast, slow *Handler) {
	t.Helper()
	s, err := spec.ParseLocal([]byte(text), ".")
	if err != nil {
		t.Fatal(err)
	}
	return negServe(t, s, nil, Options{})
}

func negCompare(t *testing.T, fast, slow *Handler, name string, qt uint16, edns bool) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qt)
	m.Id = 0x4242
	if edns {
		m.SetEdns0(1232, false)
	}
	msg, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	scF, scS := NewScratch(1), NewScratch(1)
	got := append([]byte(nil), fast.Serve(msg, scF, false)...)
	want := append([]byte(nil), slow.Serve(msg, scS, false)...)
	if string(got) != string(want) {
		var g, w dns.Msg
		ge, we := g.Unpack(got), w.Unpack(want)
		t.Errorf("%s %s edns=%v: fast (%d bytes, %v):\n% x\n%v\nslow (%d bytes, %v):\n% x\n%v", name, dns.TypeToString[qt], edns,
			len(got), ge, got, &g, len(want), we, want, &w)
	}
}

func negZone(name, soa, static string) string {
	return "  - name: " + name + "\n    soa: {" + soa + "}\n    nameservers: [ns1." + name + ".]\n    static: |\n      ns1 IN A 127.0.0.1\n      " +
		strings.ReplaceAll(strings.TrimSpace(static), "\n", "\n      ") + "\n"
}

// A name below the SOA's MNAME (or RNAME): the MNAME is a pointer to
// the question's suffix, as the resolver's packer writes it.
func TestNegativeCompressionBelowMname(t *testing.T) {
	fast, slow := negHandlersFor(t, "zones:\n"+negZone("neg.test", "mname: ns1.neg.test., rname: hostmaster.neg.test.", "a IN A 192.0.2.1"))
	negCompare(t, fast, slow, "x.ns1.neg.test.", dns.TypeA, false)
	negCompare(t, fast, slow, "x.hostmaster.neg.test.", dns.TypeA, true)
}

// The common set-up of a zone at a DNS host: MNAME and RNAME out of the
// zone, in the same domain. RNAME is compressed to MNAME's suffix (and
// both to the question's TLD), as the resolver's packer does.
func TestNegativeOutOfZoneSOANames(t *testing.T) {
	fast, slow := negHandlersFor(t, "zones:\n"+negZone("out.test", "mname: ns1.provider.example., rname: hostmaster.provider.example.", "a IN A 192.0.2.1")+
		negZone("out2.example", "mname: ns1.provider.example., rname: hostmaster.provider.example.", "a IN A 192.0.2.1"))
	negCompare(t, fast, slow, "nope.out.test.", dns.TypeA, false)
	negCompare(t, fast, slow, "a.out.test.", dns.TypeAAAA, true)
	negCompare(t, fast, slow, "nope.out2.example.", dns.TypeA, false)
}

// The same, where it matters: a query without EDNS (512 bytes) for a
// long name is answered in full, not with TC=1, wherever the resolver's
// reply fits.
func TestNegativeTruncatesWhereResolverFits(t *testing.T) {
	long := strings.Repeat("p", 50) + "." + strings.Repeat("q", 50) + "." + strings.Repeat("r", 50)
	fast, slow := negHandlersFor(t, "zones:\n"+negZone("out.test", "mname: ns1."+long+".example., rname: hostmaster."+long+".example.", "a IN A 192.0.2.1"))
	qname := strings.Repeat(strings.Repeat("x", 63)+".", 3) + "out.test."
	m := new(dns.Msg)
	m.SetQuestion(qname, dns.TypeA)
	msg, _ := m.Pack()
	got := fast.Serve(msg, NewScratch(1), false)
	want := slow.Serve(msg, NewScratch(1), false)
	var g, w dns.Msg
	if err := g.Unpack(got); err != nil {
		t.Fatal(err)
	}
	if err := w.Unpack(want); err != nil {
		t.Fatal(err)
	}
	if g.Truncated != w.Truncated || len(g.Ns) != len(w.Ns) {
		t.Errorf("%s A, no EDNS: fast path TC=%v with %d authority records (%d bytes before truncation); resolver TC=%v with %d (%d bytes)",
			qname, g.Truncated, len(g.Ns), len(got), w.Truncated, len(w.Ns), len(want))
	}
}

// RNAME (or MNAME) with upper case in the zone's part: the negative
// answer's SOA keeps the case the zone's SOA has (the packer compresses
// only names of the same case), as the resolver and the SOA query do.
func TestNegativeSOANameCase(t *testing.T) {
	fast, slow := negHandlersFor(t, "zones:\n"+negZone("neg.test", "mname: NS1.Neg.test., rname: Hostmaster.NEG.test.", "a IN A 192.0.2.1"))
	for _, h := range []*Handler{fast, slow} {
		m := new(dns.Msg)
		m.SetQuestion("nope.neg.test.", dns.TypeA)
		msg, _ := m.Pack()
		var r dns.Msg
		if err := r.Unpack(h.Serve(msg, NewScratch(1), false)); err != nil {
			t.Fatal(err)
		}
		soa := r.Ns[0].(*dns.SOA)
		if soa.Ns != "NS1.Neg.test." || soa.Mbox != "Hostmaster.NEG.test." {
			t.Errorf("fast=%v: negative answer's SOA names %s %s, want the zone's NS1.Neg.test. Hostmaster.NEG.test.", h == fast, soa.Ns, soa.Mbox)
		}
	}
}

// A root zone without delegations: the owner is the root label itself
// (one byte, never a pointer), as the resolver writes it.
func TestNegativeRootZone(t *testing.T) {
	fast, slow := negHandlersFor(t, "zones:\n"+
		"  - name: .\n    soa: {mname: a.root-servers.net., rname: nstld.verisign-grs.com.}\n    nameservers: [a.root-servers.net.]\n    static: |\n      x.y IN A 192.0.2.1\n")
	negCompare(t, fast, slow, ".", dns.TypeA, false)
	negCompare(t, fast, slow, "nope.", dns.TypeA, false)
	negCompare(t, fast, slow, "y.", dns.TypeA, true)
}

// An EDNS option that miekg/dns will not unpack (UL, code 2, with no
// data) is ignored, as RFC 6891 6.1.2 asks and Knot DNS does: the fast
// path answered such queries, and the resolver path said FORMERR; now
// both answer, negatives and CNAME chains (the resolver's) included.
func TestUnparsableOptionIgnored(t *testing.T) {
	fast, slow := negHandlers(t)
	for _, c := range []struct {
		name  string
		qt    uint16
		rcode int
		an    int
	}{
		{"nope.neg.test.", dns.TypeA, dns.RcodeNameError, 0},
		{"a.neg.test.", dns.TypeMX, dns.RcodeSuccess, 0},
		{"a.neg.test.", dns.TypeA, dns.RcodeSuccess, 1},
		{"alias.neg.test.", dns.TypeA, dns.RcodeSuccess, 2}, // the CNAME and its target: the resolver
		{"x.w.wild.test.", dns.TypeA, dns.RcodeSuccess, 1},  // a wildcard: the resolver
	} {
		m := new(dns.Msg)
		m.SetQuestion(c.name, c.qt)
		m.SetEdns0(1232, false)
		m.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_NSID{Code: dns.EDNS0NSID}}
		msg, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		// The OPT's data: the empty NSID option (its 4 bytes end the
		// message, after the 2 of the data's length), then UL.
		msg[len(msg)-5] = 8
		msg = append(msg, 0, 2, 0, 0)
		if new(dns.Msg).Unpack(msg) == nil {
			t.Fatal("miekg/dns unpacks the query: it no longer tests the resolver path's fallback")
		}
		for _, h := range []*Handler{fast, slow} {
			var r dns.Msg
			if err := r.Unpack(h.Serve(msg, NewScratch(1), false)); err != nil {
				t.Fatal(err)
			}
			nsid := ""
			if opt := r.IsEdns0(); opt != nil {
				for _, o := range opt.Option {
					if n, ok := o.(*dns.EDNS0_NSID); ok {
						nsid = n.Nsid
					}
				}
			}
			if r.Rcode != c.rcode || len(r.Answer) != c.an || nsid == "" {
				t.Errorf("%s %s (negatives on the fast path %v): rcode %s, %d answers, NSID %q; want %s, %d answers, the NSID",
					c.name, dns.TypeToString[c.qt], h == fast, dns.RcodeToString[r.Rcode], len(r.Answer), nsid, dns.RcodeToString[c.rcode], c.an)
			}
		}
	}
}
