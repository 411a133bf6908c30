package dnsserver

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/spec"
)

const testSpec = `
zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test., negative_ttl: 60}
    nameservers: [ns1.example.test.]
    static: |
      ns1  IN A 127.0.0.1
      docs IN CNAME www
      *.apps 300 IN A 192.0.2.80
      @    IN MX 10 mail
      mail IN A 192.0.2.25
datacenters: [{name: a}, {name: b}, {name: c}]
pools:
  - {name: east, datacenter: a, endpoints: [{address: 192.0.2.10}]}
  - {name: west, datacenter: b, endpoints: [{address: 198.51.100.10}]}
records:
  - {name: www.example.test, type: A, ttl: 30, pools: [east, west]}
`

type fixed struct{ s *Snapshot }

func (f fixed) Answers() *Snapshot { return f.s }

func buildSnapshot(t testing.TB, specText string, dyn []DynamicAnswer, prev *Snapshot, now time.Time) *Snapshot {
	t.Helper()
	s, err := spec.Parse([]byte(specText))
	if err != nil {
		t.Fatal(err)
	}
	zs, err := NewZoneSet(s)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := Build(zs, dyn, prev, now)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func aRecord(name, ip string) dns.RR {
	rr, err := dns.NewRR(name + " 30 IN A " + ip)
	if err != nil {
		panic(err)
	}
	return rr
}

func wwwAnswer(ips ...string) []DynamicAnswer {
	var v []Variant
	for _, ip := range ips {
		v = append(v, Variant{Weight: 1, RRs: []dns.RR{aRecord("www.example.test.", ip)}})
	}
	return []DynamicAnswer{{Name: "www.example.test.", Type: dns.TypeA, Variants: v}}
}

func makeQuery(t testing.TB, name string, qtype uint16, edns bool) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = false
	m.Id = 0xBEEF
	if edns {
		m.SetEdns0(4096, false)
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func serve(t testing.TB, h *Handler, msg []byte) *dns.Msg {
	t.Helper()
	out := h.Serve(msg, NewScratch(1), false)
	if out == nil {
		t.Fatalf("no reply")
	}
	r := new(dns.Msg)
	if err := r.Unpack(out); err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
	return r
}

// The fast path (pre-packed answers) and the slow path (full resolver)
// must give the same reply for every packed key.
func TestFastPathMatchesSlowPath(t *testing.T) {
	snap := buildSnapshot(t, testSpec, wwwAnswer("192.0.2.10"), nil, time.Unix(1700000000, 0))
	h := NewHandler(fixed{snap}, Options{})
	keys := map[string]*packed{}
	for k, p := range snap.zs.fast {
		keys[k] = p
	}
	for k, p := range snap.overlay {
		keys[k] = p
	}
	if len(keys) < 8 {
		t.Fatalf("only %d packed answers; the fast path is not in use", len(keys))
	}
	for k := range keys {
		name, _, err := dns.UnpackDomainName([]byte(k), 0)
		if err != nil {
			t.Fatal(err)
		}
		qtype := binary.BigEndian.Uint16([]byte(k[len(k)-2:]))
		for _, edns := range []bool{false, true} {
			msg := makeQuery(t, name, qtype, edns)
			fast := string(h.Serve(msg, NewScratch(1), false))
			var q query
			_, _ = parseQuery(msg, make([]byte, 0, 256), &q)
			slow := string(h.slow(snap, msg, &q, NewScratch(1), udpLimit(&q, DefaultMaxUDPSize), netip.Addr{}))
			if fast != slow {
				t.Errorf("%s %s edns=%v: fast and slow replies differ", name, dns.TypeToString[qtype], edns)
			}
		}
	}
}

func TestCaseIsEchoed(t *testing.T) {
	snap := buildSnapshot(t, testSpec, wwwAnswer("192.0.2.10"), nil, time.Now())
	h := NewHandler(fixed{snap}, Options{})
	for _, name := range []string{"WwW.ExAmPlE.tEsT.", "DOCS.example.TEST.", "Foo.APPS.example.test.", "NoPe.Example.Test."} {
		r := serve(t, h, makeQuery(t, name, dns.TypeA, true))
		if r.Question[0].Name != name {
			t.Errorf("question %q echoed as %q", name, r.Question[0].Name)
		}
		if len(r.Answer) > 0 && !strings.EqualFold(r.Answer[0].Header().Name, name) {
			t.Errorf("%s: answer owner %q", name, r.Answer[0].Header().Name)
		}
	}
}

func TestSerialRisesOnChangeOnly(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	s1 := buildSnapshot(t, testSpec, wwwAnswer("192.0.2.10"), nil, t0)
	// Same content, later: the serial stays.
	s2 := buildSnapshot(t, testSpec, wwwAnswer("192.0.2.10"), s1, t0.Add(time.Hour))
	if s1.Serial("example.test") != s2.Serial("example.test") {
		t.Errorf("serial changed without a change: %d -> %d", s1.Serial("example.test"), s2.Serial("example.test"))
	}
	// A change: the serial follows the clock.
	s3 := buildSnapshot(t, testSpec, wwwAnswer("198.51.100.10"), s2, t0.Add(time.Hour))
	if got, want := s3.Serial("example.test"), uint32(t0.Add(time.Hour).Unix()); got != want {
		t.Errorf("serial after change = %d, want %d", got, want)
	}
	// Two changes within one second (or a clock behind): still rises.
	s4 := buildSnapshot(t, testSpec, wwwAnswer("192.0.2.10"), s3, t0)
	if s4.Serial("example.test") != s3.Serial("example.test")+1 {
		t.Errorf("serial %d did not rise past %d", s4.Serial("example.test"), s3.Serial("example.test"))
	}
	// The SOA answered carries the serial.
	h := NewHandler(fixed{s4}, Options{})
	r := serve(t, h, makeQuery(t, "example.test.", dns.TypeSOA, false))
	if soa, ok := r.Answer[0].(*dns.SOA); !ok || soa.Serial != s4.Serial("example.test") {
		t.Errorf("SOA answer %v, want serial %d", r.Answer, s4.Serial("example.test"))
	}
}

func TestWeightedVariantsFollowWeights(t *testing.T) {
	dyn := []DynamicAnswer{{Name: "www.example.test.", Type: dns.TypeA, Variants: []Variant{
		{Weight: 3, RRs: []dns.RR{aRecord("www.example.test.", "192.0.2.10")}},
		{Weight: 1, RRs: []dns.RR{aRecord("www.example.test.", "198.51.100.10")}},
	}}}
	snap := buildSnapshot(t, testSpec, dyn, nil, time.Now())
	h := NewHandler(fixed{snap}, Options{})
	sc := NewScratch(42)
	counts := map[string]int{}
	const n = 4000
	for _, name := range []string{"www.example.test.", "docs.example.test."} {
		msg := makeQuery(t, name, dns.TypeA, false)
		for i := 0; i < n; i++ {
			r := new(dns.Msg)
			if err := r.Unpack(h.Serve(msg, sc, false)); err != nil {
				t.Fatal(err)
			}
			counts[r.Answer[len(r.Answer)-1].(*dns.A).A.String()]++
		}
	}
	share := float64(counts["192.0.2.10"]) / float64(2*n)
	if share < 0.70 || share > 0.80 {
		t.Errorf("weight 3:1 gave %.2f of answers to the heavy pool (counts %v)", share, counts)
	}
}

func TestErrorsAndEdgeCases(t *testing.T) {
	snap := buildSnapshot(t, testSpec, wwwAnswer("192.0.2.10"), nil, time.Now())
	h := NewHandler(fixed{snap}, Options{})
	good := makeQuery(t, "www.example.test.", dns.TypeA, false)

	t.Run("response is ignored", func(t *testing.T) {
		m := append([]byte(nil), good...)
		m[2] |= 0x80
		if out := h.Serve(m, NewScratch(1), false); out != nil {
			t.Errorf("answered a response: %x", out)
		}
	})
	t.Run("short packet is dropped", func(t *testing.T) {
		if out := h.Serve(good[:5], NewScratch(1), false); out != nil {
			t.Errorf("answered 5 bytes")
		}
	})
	t.Run("no question is FORMERR", func(t *testing.T) {
		m := append([]byte(nil), good[:12]...)
		m[5] = 0
		if r := serve(t, h, m); r.Rcode != dns.RcodeFormatError {
			t.Errorf("rcode %s", dns.RcodeToString[r.Rcode])
		}
	})
	t.Run("garbage after header is FORMERR", func(t *testing.T) {
		m := append(append([]byte(nil), good[:12]...), 0xFF, 0xFF, 0xFF)
		r := serve(t, h, m)
		if r.Rcode != dns.RcodeFormatError || r.Id != 0xBEEF {
			t.Errorf("rcode %s id %x", dns.RcodeToString[r.Rcode], r.Id)
		}
	})
	t.Run("two OPT records are FORMERR", func(t *testing.T) {
		m := new(dns.Msg)
		m.SetQuestion("www.example.test.", dns.TypeA)
		m.SetEdns0(1232, false)
		m.SetEdns0(1232, false)
		m.Extra = append(m.Extra, m.Extra[0])
		b, _ := m.Pack()
		if r := serve(t, h, b); r.Rcode != dns.RcodeFormatError {
			t.Errorf("rcode %s", dns.RcodeToString[r.Rcode])
		}
	})
	t.Run("CHAOS is off by default", func(t *testing.T) {
		m := new(dns.Msg)
		m.SetQuestion("version.bind.", dns.TypeTXT)
		m.Question[0].Qclass = dns.ClassCHAOS
		b, _ := m.Pack()
		if r := serve(t, h, b); r.Rcode != dns.RcodeRefused || len(r.Answer) != 0 {
			t.Errorf("version.bind answered: %v", r)
		}
		on := NewHandler(fixed{snap}, Options{Chaos: true, Version: "detour test", Identity: "node-1"})
		r := serve(t, on, b)
		if len(r.Answer) != 1 || r.Answer[0].(*dns.TXT).Txt[0] != "detour test" {
			t.Errorf("with Chaos on, version.bind = %v", r.Answer)
		}
	})
	t.Run("EDNS buffer is capped", func(t *testing.T) {
		var q query
		q.edns, q.udpSize = true, 65000
		if got := udpLimit(&q, DefaultMaxUDPSize); got != DefaultMaxUDPSize {
			t.Errorf("limit %d", got)
		}
		q.udpSize = 100
		if got := udpLimit(&q, DefaultMaxUDPSize); got != MinUDPSize {
			t.Errorf("limit for 100 = %d, want 512", got)
		}
	})
	t.Run("no snapshot refuses", func(t *testing.T) {
		empty := NewHandler(fixed{nil}, Options{})
		if r := serve(t, empty, good); r.Rcode != dns.RcodeRefused {
			t.Errorf("rcode %s", dns.RcodeToString[r.Rcode])
		}
	})
}

// TCP carries several queries on one connection, in order, and big
// answers whole.
func TestTCPPipelining(t *testing.T) {
	snap := buildSnapshot(t, testSpec, wwwAnswer("192.0.2.10"), nil, time.Now())
	srv := NewServer(Config{Addr: "127.0.0.1:0"}, fixed{snap}, discard())
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(t.Context())
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	names := []string{"www.example.test.", "nope.example.test.", "example.test.", "x.apps.example.test."}
	var batch []byte
	for i, n := range names {
		m := new(dns.Msg)
		m.SetQuestion(n, dns.TypeA)
		m.Id = uint16(i + 1)
		b, _ := m.Pack()
		batch = binary.BigEndian.AppendUint16(batch, uint16(len(b)))
		batch = append(batch, b...)
	}
	if _, err := c.Write(batch); err != nil {
		t.Fatal(err)
	}
	for i := range names {
		r, err := (&dns.Conn{Conn: c}).ReadMsg()
		if err != nil {
			t.Fatal(err)
		}
		if r.Id != uint16(i+1) || !strings.EqualFold(r.Question[0].Name, names[i]) {
			t.Errorf("reply %d: id %d question %v", i, r.Id, r.Question)
		}
	}
}
