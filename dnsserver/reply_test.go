package dnsserver

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// replySpec has answers whose additional records overflow 512 bytes, a
// referral whose in-domain glue does and one whose glue is a sibling's,
// and a zone others may transfer from 127.0.0.2 or with wire-key.
func replySpec() string {
	var b strings.Builder
	for i := range 10 {
		fmt.Fprintf(&b, "      manymx IN MX %d mx%d.manymx\n      mx%d.manymx IN A 192.0.2.%d\n      mx%d.manymx IN AAAA 2001:db8::%d\n", i, i, i, 100+i, i, 100+i)
		fmt.Fprintf(&b, "      bigdeleg IN NS ns%d.bigdeleg\n      ns%d.bigdeleg IN A 192.0.2.%d\n      ns%d.bigdeleg IN AAAA 2001:db8::%d\n", i, i, 150+i, i, 150+i)
		fmt.Fprintf(&b, "      sibdeleg IN NS ns%d.bigdeleg\n", i)
		// Three addresses per target: an RRset is kept or dropped whole.
		fmt.Fprintf(&b, "      widemx IN MX %d w%d\n", i, i)
		for j := range 3 {
			fmt.Fprintf(&b, "      w%d IN A 198.51.100.%d\n", i, 10*i+j)
		}
	}
	return `
zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    allow_transfer: [127.0.0.2, wire-key]
    tsig_keys: [{name: wire-key, secret_env: WIRE_SECRET}]
    static: |
      ns1 IN A 127.0.0.1
      big IN TXT "` + strings.Repeat("a", 250) + `" "` + strings.Repeat("b", 250) + `"
` + b.String() + `
  - name: other.test
    soa: {mname: ns1.other.test., rname: hostmaster.other.test.}
    nameservers: [ns1.other.test.]
    static: |
      ns1 IN A 127.0.0.1
datacenters: [{name: a}, {name: b}, {name: c}]
pools:
  - {name: east, datacenter: a, endpoints: [{address: 192.0.2.10}]}
records:
  - {name: www.example.test, type: A, ttl: 30, pools: [east]}
`
}

const wireSecret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMw=="

// replyServer is a server (not listening) for replySpec with NSID nsid;
// its handler and transfer code are called directly.
func replyServer(t *testing.T, nsid string) *Server {
	t.Helper()
	snap := buildSnapshot(t, replySpec(), wwwAnswer("192.0.2.10"), nil, time.Now())
	srv := NewServer(Config{Getenv: func(string) string { return wireSecret }, Options: Options{NSID: nsid}}, fixed{snap}, discard())
	if err := srv.abuseLimits(); err != nil {
		t.Fatal(err)
	}
	return srv
}

// msgOpt is a query for name/qtype; edns adds an OPT, opts its options.
func msgOpt(name string, qtype uint16, edns bool, opts ...dns.EDNS0) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = false
	if edns {
		m.SetEdns0(1232, true)
		m.IsEdns0().Option = opts
	}
	return m
}

var (
	nsidOpt   = &dns.EDNS0_NSID{Code: dns.EDNS0NSID}
	cookieOpt = &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708"}
)

// want is what a reply must show; unset counts are not checked (-1).
type want struct {
	rcode              int
	tc, aa             bool
	answer, ns, extra  int // record counts, OPT and TSIG aside; -1: any
	opt                bool
	nsid, cookie, tsig bool
}

func checkReply(t *testing.T, r *dns.Msg, size int, limit int, w want) {
	t.Helper()
	extra, tsig := 0, false
	for _, rr := range r.Extra {
		switch rr.Header().Rrtype {
		case dns.TypeOPT:
		case dns.TypeTSIG:
			tsig = true
		default:
			extra++
		}
	}
	opt := r.IsEdns0()
	var nsid, cookie bool
	if opt != nil {
		for _, o := range opt.Option {
			switch v := o.(type) {
			case *dns.EDNS0_NSID:
				nsid = v.Nsid == fmt.Sprintf("%x", "node-1")
			case *dns.EDNS0_COOKIE:
				cookie = strings.HasPrefix(v.Cookie, cookieOpt.Cookie) && len(v.Cookie) == 48
			}
		}
		if opt.UDPSize() != DefaultMaxUDPSize {
			t.Errorf("OPT advertises %d bytes", opt.UDPSize())
		}
	}
	got := want{r.Rcode, r.Truncated, r.Authoritative, len(r.Answer), len(r.Ns), extra, opt != nil, nsid, cookie, tsig}
	for _, f := range []struct {
		name      string
		have, exp int
	}{{"answer", got.answer, w.answer}, {"authority", got.ns, w.ns}, {"additional", got.extra, w.extra}} {
		if f.exp >= 0 && f.have != f.exp || f.exp < 0 && f.have == 0 {
			t.Errorf("%s: %d records, want %d (-1: some)", f.name, f.have, f.exp)
		}
	}
	got.answer, got.ns, got.extra = w.answer, w.ns, w.extra
	if got != w {
		t.Errorf("reply %+v\nwant  %+v\n%v", got, w, r)
	}
	if size > limit {
		t.Errorf("reply is %d bytes, over %d", size, limit)
	}
	if r.Truncated && len(r.Answer)+len(r.Ns)+extra > 0 {
		t.Errorf("TC with records")
	}
}

// wholeRRsets fails when the additional section holds part of an RRset
// of the zone (w0..w9 have three addresses each).
func wholeRRsets(t *testing.T, r *dns.Msg) {
	t.Helper()
	n := map[string]int{}
	for _, rr := range r.Extra {
		if rr.Header().Rrtype == dns.TypeA && strings.HasPrefix(rr.Header().Name, "w") {
			n[rr.Header().Name]++
		}
	}
	for name, c := range n {
		if c != 3 {
			t.Errorf("%s: %d of its 3 addresses in the additional section", name, c)
		}
	}
}

// TestReplyTable: replies over UDP (512 bytes without EDNS), on every
// path: the fast one, the full resolver, malformed and signed queries,
// IXFR over UDP. Each case is a query in and the reply's shape out.
func TestReplyTable(t *testing.T) {
	srv := replyServer(t, "node-1")
	upd := msgOpt("example.test.", dns.TypeSOA, true)
	upd.Opcode = dns.OpcodeUpdate
	upd.Ns = []dns.RR{aRecord("x.example.test.", "192.0.2.1")}
	ixfr := func(zone string, serial uint32, edns bool) *dns.Msg {
		m := msgOpt(zone, dns.TypeIXFR, edns)
		m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET}, Ns: "ns.", Mbox: "h.", Serial: serial}}
		return m
	}
	noSOA := msgOpt("example.test.", dns.TypeIXFR, true)
	twoQ := msgOpt("example.test.", dns.TypeSOA, true)
	twoQ.Question = append(twoQ.Question, twoQ.Question[0])
	noQ := msgOpt("example.test.", dns.TypeSOA, true, cookieOpt)
	noQ.Question = nil
	signed := func(m *dns.Msg, name string) *dns.Msg {
		m.Id = 0xBEEF
		m.SetTsig(name, dns.HmacSHA256, 300, time.Now().Unix())
		return m
	}
	allowed, other := netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1")
	for _, tc := range []struct {
		name string
		q    *dns.Msg
		from netip.Addr
		want want
	}{
		// Item 3: optional additional records give way first.
		{"MX targets overflow 512: no TC, whole RRsets", msgOpt("manymx.example.test.", dns.TypeMX, false), other, want{aa: true, answer: 10, extra: -1}},
		{"MX targets with EDNS 1232: all additional", msgOpt("manymx.example.test.", dns.TypeMX, true), other, want{aa: true, answer: 10, extra: 20, opt: true}},
		{"three addresses per target", msgOpt("widemx.example.test.", dns.TypeMX, false), other, want{aa: true, answer: 10, extra: -1}},
		{"in-domain glue over 512: TC", msgOpt("x.bigdeleg.example.test.", dns.TypeA, false), other, want{tc: true}},
		{"sibling glue over 512: dropped, no TC", msgOpt("x.sibdeleg.example.test.", dns.TypeA, false), other, want{ns: 10, extra: -1}},
		{"answer over 512: TC", msgOpt("big.example.test.", dns.TypeTXT, false), other, want{tc: true, aa: true}},
		// Item 4: OPT on every reply to an EDNS query.
		{"two questions: FORMERR with OPT", twoQ, other, want{rcode: dns.RcodeFormatError, opt: true}},
		{"no question, cookie: FORMERR with OPT, no cookie", noQ, other, want{rcode: dns.RcodeFormatError, opt: true}},
		{"cookie: answered", msgOpt("ns1.example.test.", dns.TypeA, true, cookieOpt), other, want{aa: true, answer: 1, opt: true, cookie: true}},
		{"UPDATE with records: NOTIMP with OPT", upd, other, want{rcode: dns.RcodeNotImplemented, opt: true}},
		{"AXFR over UDP: NOTIMP with OPT", msgOpt("example.test.", dns.TypeAXFR, true), other, want{rcode: dns.RcodeNotImplemented, opt: true}},
		{"unknown TSIG key: NOTAUTH with OPT", signed(msgOpt("ns1.example.test.", dns.TypeA, true, nsidOpt), "nokey."), other, want{rcode: dns.RcodeNotAuth, opt: true, nsid: true, tsig: true}},
		{"signed: answer with OPT", signed(msgOpt("ns1.example.test.", dns.TypeA, true, nsidOpt), "wire-key."), other, want{aa: true, answer: 1, opt: true, nsid: true, tsig: true}},
		{"signed, MX targets over 512: no TC", signed(msgOpt("manymx.example.test.", dns.TypeMX, false), "wire-key."), other, want{aa: true, answer: 10, extra: -1, tsig: true}},
		// Item 5: IXFR over UDP is a transfer.
		{"IXFR from a client allowed: SOA with OPT", ixfr("example.test.", 1, true), allowed, want{aa: true, answer: 1, opt: true}},
		{"IXFR, allowed by key", signed(ixfr("example.test.", 1, true), "wire-key."), other, want{aa: true, answer: 1, opt: true, tsig: true}},
		{"IXFR from a client not allowed: NOTAUTH", ixfr("example.test.", 1, true), other, want{rcode: dns.RcodeNotAuth, opt: true}},
		{"IXFR not allowed, no EDNS", ixfr("example.test.", 1, false), other, want{rcode: dns.RcodeNotAuth}},
		{"IXFR without the client's SOA: FORMERR", noSOA, allowed, want{rcode: dns.RcodeFormatError, opt: true}},
		{"IXFR without SOA, not allowed: NOTAUTH", noSOA, other, want{rcode: dns.RcodeNotAuth, opt: true}},
		{"IXFR of a zone without allow_transfer", ixfr("other.test.", 1, true), allowed, want{rcode: dns.RcodeNotAuth, opt: true}},
		{"IXFR of a zone not served", ixfr("nope.test.", 1, true), allowed, want{rcode: dns.RcodeNotAuth, opt: true}},
		// Item 7: NSID when asked, on every path.
		{"NSID, fast path", msgOpt("ns1.example.test.", dns.TypeA, true, nsidOpt), other, want{aa: true, answer: 1, opt: true, nsid: true}},
		{"NSID, NXDOMAIN", msgOpt("nope.example.test.", dns.TypeA, true, nsidOpt), other, want{rcode: dns.RcodeNameError, aa: true, ns: 1, opt: true, nsid: true}},
		{"NSID and cookie", msgOpt("ns1.example.test.", dns.TypeA, true, cookieOpt, nsidOpt), other, want{aa: true, answer: 1, opt: true, nsid: true, cookie: true}},
		{"NSID with MX targets over 512", msgOpt("manymx.example.test.", dns.TypeMX, true, nsidOpt), other, want{aa: true, answer: 10, extra: 20, opt: true, nsid: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Id = 0xBEEF
			var wire []byte
			var err error
			if tc.q.IsTsig() != nil {
				wire, _, err = dns.TsigGenerate(tc.q, wireSecret, "", false)
			} else {
				wire, err = tc.q.Pack()
			}
			if err != nil {
				t.Fatal(err)
			}
			out := srv.handler.ServeFrom(wire, NewScratch(1), tc.from, false)
			r := new(dns.Msg)
			if err := r.Unpack(out); err != nil {
				t.Fatalf("reply does not parse: %v", err)
			}
			if r.Id != 0xBEEF {
				t.Errorf("id %x", r.Id)
			}
			limit := MinUDPSize
			if tc.q.IsEdns0() != nil {
				limit = DefaultMaxUDPSize
			}
			checkReply(t, r, len(out), limit, tc.want)
			wholeRRsets(t, r)
		})
	}
}

// NSID is sent only when asked and when set; an empty NSID option asks.
func TestNSIDOff(t *testing.T) {
	for _, tc := range []struct {
		nsid string
		ask  bool
		want bool
	}{{"node-1", true, true}, {"node-1", false, false}, {"", true, false}} {
		srv := replyServer(t, tc.nsid)
		var opts []dns.EDNS0
		if tc.ask {
			opts = append(opts, nsidOpt)
		}
		for _, name := range []string{"ns1.example.test.", "nope.example.test."} {
			r := serve(t, srv.handler, mustPack(t, msgOpt(name, dns.TypeA, true, opts...)))
			got := false
			for _, o := range r.IsEdns0().Option {
				got = got || o.Option() == dns.EDNS0NSID
			}
			if got != tc.want {
				t.Errorf("nsid %q asked %v %s: NSID in reply %v", tc.nsid, tc.ask, name, got)
			}
		}
	}
}

func mustPack(t *testing.T, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Transfers over TCP answer an EDNS query with OPT in every message:
// refused, and permitted over several messages.
func TestTransferRepliesCarryOPT(t *testing.T) {
	srv := replyServer(t, "node-1")
	for _, tc := range []struct {
		name  string
		q     *dns.Msg
		from  string
		rcode int
	}{
		{"AXFR refused", msgOpt("example.test.", dns.TypeAXFR, true, nsidOpt), "127.0.0.1", dns.RcodeRefused},
		{"AXFR of a zone not served", msgOpt("nope.test.", dns.TypeAXFR, true, nsidOpt), "127.0.0.2", dns.RcodeNotAuth},
		{"AXFR", msgOpt("example.test.", dns.TypeAXFR, true, nsidOpt), "127.0.0.2", dns.RcodeSuccess},
		{"IXFR without SOA", msgOpt("example.test.", dns.TypeIXFR, true, nsidOpt), "127.0.0.2", dns.RcodeFormatError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var msgs []*dns.Msg
			_, err := srv.transfer(mustPack(t, tc.q), netip.MustParseAddr(tc.from), func(b []byte) error {
				m := new(dns.Msg)
				if err := m.Unpack(b); err != nil {
					return err
				}
				msgs = append(msgs, m)
				return nil
			})
			if err != nil || len(msgs) == 0 {
				t.Fatalf("%d messages, %v", len(msgs), err)
			}
			if msgs[0].Rcode != tc.rcode {
				t.Errorf("rcode %s", dns.RcodeToString[msgs[0].Rcode])
			}
			for i, m := range msgs {
				if m.IsEdns0() == nil || len(m.IsEdns0().Option) != 1 || m.IsEdns0().Option[0].Option() != dns.EDNS0NSID {
					t.Errorf("message %d: OPT %v", i, m.IsEdns0())
				}
			}
		})
	}
}

// The OPT of every reply tells the server's own UDP payload size.
func TestOPTAdvertisesServerUDPSize(t *testing.T) {
	snap := buildSnapshot(t, replySpec(), nil, nil, time.Now())
	h := NewHandler(fixed{snap}, Options{MaxUDPSize: 1400})
	twoQ := msgOpt("example.test.", dns.TypeSOA, true)
	twoQ.Question = append(twoQ.Question, twoQ.Question[0])
	for name, m := range map[string]*dns.Msg{
		"fast":          msgOpt("ns1.example.test.", dns.TypeA, true),
		"slow":          msgOpt("nope.example.test.", dns.TypeA, true),
		"two questions": twoQ,
	} {
		r := serve(t, h, mustPack(t, m))
		if opt := r.IsEdns0(); opt == nil || opt.UDPSize() != 1400 {
			t.Errorf("%s: OPT %v, want a UDP size of 1400", name, opt)
		}
	}
}
