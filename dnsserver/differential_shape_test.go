package dnsserver_test

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/miekg/dns"
)

// shape is one generated query: everything needed to send it again.
type shape struct {
	kind    string // which names it was drawn from: exist, child, wild, ...
	name    string // as sent, 0x20 case included
	qtype   uint16
	tcp     bool
	edns    bool
	bufsize uint16
	do      bool
	unknown bool // an unknown EDNS option (65001, local use)
	nsid    bool // an empty NSID option (RFC 5001)
	qdcount int  // 1, or 0 or 2 to be malformed
	opcode  int
	rd, cd  bool
	ad, z   bool
	tc      bool
	soaAuth bool // IXFR: the client's SOA in the authority section
	// belowDNAME: the name is under a DNAME owner, whatever its kind.
	belowDNAME bool
}

// String describes the query as a dig-like line.
func (s shape) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s %s", s.kind, s.name, dns.Type(s.qtype))
	if s.tcp {
		b.WriteString(" +tcp")
	}
	if !s.edns {
		b.WriteString(" +noedns")
	} else {
		fmt.Fprintf(&b, " +bufsize=%d", s.bufsize)
	}
	flags := []struct {
		on   bool
		text string
	}{{s.do, "+dnssec"}, {s.unknown, "+ednsopt=65001:0102"}, {s.nsid, "+nsid"},
		{s.qdcount != 1, fmt.Sprintf("qdcount=%d", s.qdcount)}, {s.opcode != 0, fmt.Sprintf("+opcode=%d", s.opcode)},
		{s.rd, "+rec"}, {s.cd, "+cd"}, {s.ad, "+ad"}, {s.z, "+zflag"}, {s.tc, "tc"}, {s.soaAuth, "ixfr=SOA"}}
	for _, f := range flags {
		if f.on {
			b.WriteString(" " + f.text)
		}
	}
	return b.String()
}

// pack builds the query's wire form with id.
func (s shape) pack(id uint16) ([]byte, error) {
	m := &dns.Msg{MsgHdr: dns.MsgHdr{
		Id: id, Opcode: s.opcode, RecursionDesired: s.rd, CheckingDisabled: s.cd,
		AuthenticatedData: s.ad, Zero: s.z, Truncated: s.tc,
	}}
	q := dns.Question{Name: s.name, Qtype: s.qtype, Qclass: dns.ClassINET}
	switch s.qdcount {
	case 1:
		m.Question = []dns.Question{q}
	case 2:
		m.Question = []dns.Question{q, {Name: s.name, Qtype: dns.TypeA, Qclass: dns.ClassINET}}
	}
	if s.soaAuth {
		m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: strings.ToLower(s.name), Rrtype: dns.TypeSOA, Class: dns.ClassINET},
			Ns: "ns1." + s.name, Mbox: "hostmaster." + s.name, Serial: 1, Refresh: 1, Retry: 1, Expire: 1, Minttl: 1}}
	}
	if s.edns {
		opt := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: s.bufsize}}
		opt.SetDo(s.do)
		if s.unknown {
			opt.Option = append(opt.Option, &dns.EDNS0_LOCAL{Code: 65001, Data: []byte{1, 2}})
		}
		if s.nsid {
			opt.Option = append(opt.Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID})
		}
		m.Extra = append(m.Extra, opt)
	}
	out, err := m.Pack()
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", s, err)
	}
	// miekg/dns packs the Z bit; make sure the count is as drawn even
	// if it ever normalises an empty question section.
	binary.BigEndian.PutUint16(out[4:], uint16(s.qdcount))
	return out, nil
}

// diffTypes are the query types drawn, an unknown one among them.
var diffTypes = []uint16{
	dns.TypeA, dns.TypeAAAA, dns.TypeNS, dns.TypeSOA, dns.TypeMX, dns.TypeTXT,
	dns.TypeCNAME, dns.TypeDNAME, dns.TypeSRV, dns.TypePTR, dns.TypeCAA,
	dns.TypeANY, 65280, 65281,
}

// generator draws shapes from the two zones' names with a seeded source.
type generator struct {
	r     *rand.Rand
	zones []zoneNames
}

func newGenerator(seed uint64, zones []zoneNames) *generator {
	return &generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), zones: zones}
}

// chance is true with probability p percent.
func (g *generator) chance(p int) bool { return g.r.IntN(100) < p }

func (g *generator) pick(s []string) string { return s[g.r.IntN(len(s))] }

// label is a random lower-case label, short enough to keep names small.
func (g *generator) label() string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	n := 1 + g.r.IntN(8)
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[g.r.IntN(len(letters))]
	}
	return string(b)
}

// name draws a query name and what kind of name it is.
func (g *generator) name() (kind, name string) {
	z := g.zones[g.r.IntN(len(g.zones))]
	// A zone without wildcards, delegations or DNAMEs (diffPlain) asks
	// below a name that exists instead.
	without := func(s []string) bool { return len(s) == 0 }
	switch n := g.r.IntN(100); {
	case n >= 47 && n < 62 && without(z.wild), n >= 62 && n < 70 && without(z.deleg),
		n >= 77 && n < 87 && without(z.dnameOwn):
		return "child", g.label() + "." + g.pick(z.exist)
	case n < 35:
		return "exist", g.pick(z.exist)
	case n < 47:
		return "child", g.label() + "." + g.pick(z.exist)
	case n < 62:
		return "wild", g.label() + "." + g.pick(z.wild)
	case n < 70:
		return "deleg", g.label() + "." + g.pick(z.deleg)
	case n < 77:
		return "ent", g.pick(z.ent)
	case n < 87:
		return "dname", g.label() + "." + g.pick(z.dnameOwn)
	case n < 90:
		return "apex", z.origin
	default:
		return "out", g.pick([]string{g.label() + ".other.test.", "test.", ".", "other.test.", g.label() + ".test.", "alpha.test.beta.test."})
	}
}

// mixCase applies 0x20 random case to name.
func (g *generator) mixCase(name string) string {
	b := []byte(name)
	for i, c := range b {
		if c >= 'a' && c <= 'z' && g.r.IntN(2) == 0 {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// shape draws one query.
func (g *generator) shape() shape {
	var s shape
	s.kind, s.name = g.name()
	s.belowDNAME = g.belowDNAME(s.name)
	if g.chance(70) {
		s.name = g.mixCase(s.name)
	}
	s.qtype = diffTypes[g.r.IntN(len(diffTypes))]
	if g.chance(4) {
		s.qtype = dns.TypeIXFR
		s.soaAuth = g.chance(60)
		if g.chance(30) {
			s.qtype, s.soaAuth = dns.TypeAXFR, false
		}
	}
	s.tcp = g.chance(35)
	if s.edns = g.chance(70); s.edns {
		s.bufsize = []uint16{0, 512, 1232, 4096}[g.r.IntN(4)]
		s.do = g.chance(40)
		s.unknown = g.chance(15)
		s.nsid = g.chance(10)
	}
	s.qdcount = 1
	if g.chance(4) {
		s.qdcount = []int{0, 2}[g.r.IntN(2)]
	}
	if g.chance(6) {
		s.opcode = 1 + g.r.IntN(5)
	}
	s.rd, s.cd, s.ad = g.chance(30), g.chance(15), g.chance(15)
	s.z, s.tc = g.chance(8), g.chance(8)
	return s
}

// belowDNAME reports whether name is strictly under a DNAME owner.
func (g *generator) belowDNAME(name string) bool {
	for _, z := range g.zones {
		for _, o := range z.dnameOwn {
			if name != o && dns.IsSubDomain(o, name) {
				return true
			}
		}
	}
	return false
}

// missing lists the features of a query that no shape in shapes has, so
// that a change to the generator cannot quietly stop testing one.
func missing(shapes []shape) []string {
	seen := map[string]bool{}
	for _, s := range shapes {
		for _, f := range s.features() {
			seen[f] = true
		}
	}
	want := []string{"kind exist", "kind child", "kind wild", "kind deleg", "kind ent", "kind dname", "kind apex", "kind out",
		"udp", "tcp", "noedns", "bufsize 0", "bufsize 512", "bufsize 1232", "bufsize 4096", "do", "unknown option", "nsid",
		"qdcount 0", "qdcount 2", "rd", "cd", "ad", "z", "tc", "0x20", "type IXFR", "type AXFR", "ixfr with SOA"}
	for op := 1; op <= 5; op++ {
		want = append(want, fmt.Sprintf("opcode %d", op))
	}
	for _, t := range diffTypes {
		want = append(want, "type "+dns.Type(t).String())
	}
	var out []string
	for _, f := range want {
		if !seen[f] {
			out = append(out, f)
		}
	}
	return out
}

// features names what s exercises, for missing.
func (s shape) features() []string {
	f := []string{"kind " + s.kind, "type " + dns.Type(s.qtype).String(), fmt.Sprintf("opcode %d", s.opcode), fmt.Sprintf("qdcount %d", s.qdcount)}
	add := func(on bool, name string) {
		if on {
			f = append(f, name)
		}
	}
	add(s.tcp, "tcp")
	add(!s.tcp, "udp")
	add(!s.edns, "noedns")
	add(s.edns, fmt.Sprintf("bufsize %d", s.bufsize))
	add(s.do, "do")
	add(s.unknown, "unknown option")
	add(s.nsid, "nsid")
	add(s.rd, "rd")
	add(s.cd, "cd")
	add(s.ad, "ad")
	add(s.z, "z")
	add(s.tc, "tc")
	add(s.soaAuth, "ixfr with SOA")
	add(strings.ToLower(s.name) != s.name, "0x20")
	return f
}
