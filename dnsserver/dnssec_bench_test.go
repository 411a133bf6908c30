package dnsserver

import (
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/dnssec"
	"github.com/seed3787e6f1/detour/spec"
)

// signedBenchHandler is benchHandler's zone signed with a fresh CSK of
// alg, answering as a server with keys does.
func signedBenchHandler(tb testing.TB, n int, alg string) *Handler {
	tb.Helper()
	// Signed from the start: a zone set keeps the names of unsigned
	// zones in its static table, which the signer does not walk.
	plain := benchHandlerWith(tb, n, "    dnssec: {enabled: true, algorithm: "+alg+"}\n")
	snap := plain.src.Answers()
	zs := *snap.zs
	zs.dnssec = nil
	zs.dnssecSettings(&spec.Spec{Zones: []spec.Zone{{Name: "bench.test.", DNSSEC: signedSettings(tb, alg)}}})
	s := *snap
	s.zs = &zs
	k, err := dnssec.Generate("bench.test.", alg, 3600, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	ring := dnssec.Keyring{"bench.test.": {k}}
	g := &signing{keys: func() dnssec.Keyring { return ring }, logger: slog.New(slog.DiscardHandler), now: time.Now}
	h := NewHandler(&signingSource{inner: fixedSource{&s}, g: g}, Options{NSID: "bench-node"})
	h.sign = g
	return h
}

func signedSettings(tb testing.TB, alg string) *spec.DNSSEC {
	tb.Helper()
	text := "zones:\n  - name: x.test\n    soa: {mname: ns1.x.test., rname: h.x.test.}\n    nameservers: [ns1.x.test.]\n" +
		"    dnssec: {enabled: true, algorithm: " + alg + "}\n    static: |\n      ns1 IN A 127.0.0.1\ndatacenters: [{name: a}, {name: b}, {name: c}]\n"
	s, err := spec.ParseLocal([]byte(text), ".")
	if err != nil {
		tb.Fatal(err)
	}
	return s.Zones[0].DNSSEC
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// doQuery is benchQuery with DO set.
func doQuery(tb testing.TB, name string, t uint16) []byte {
	tb.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, t)
	m.SetEdns0(1232, true)
	b, err := m.Pack()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkServeSigned compares answers to the same questions of a
// signed zone with DO=0 (no signatures) and DO=1 (pre-signed answers on
// the fast path; NXDOMAIN signed per query).
func BenchmarkServeSigned(b *testing.B) {
	for _, alg := range []string{spec.AlgECDSAP256SHA256, spec.AlgED25519} {
		h := signedBenchHandler(b, 1000, alg)
		for _, c := range []struct {
			name  string
			qname string
			qtype uint16
			rcode int
		}{
			{"static", "h500.bench.test.", dns.TypeA, dns.RcodeSuccess},
			{"health-driven", "www.bench.test.", dns.TypeA, dns.RcodeSuccess},
			{"nxdomain", "nope.bench.test.", dns.TypeA, -1},
		} {
			for _, do := range []bool{false, true} {
				msg := benchQuery(b, c.qname, c.qtype)
				tag := "DO=0"
				if do {
					msg, tag = doQuery(b, c.qname, c.qtype), "DO=1"
				}
				b.Run(alg+"/"+c.name+"/"+tag, func(b *testing.B) {
					sc := NewScratch(1)
					out := h.Serve(msg, sc, false)
					if out == nil || (c.rcode >= 0 && int(out[3]&0xF) != c.rcode) {
						b.Fatalf("reply %v", out)
					}
					b.ReportAllocs()
					start := cpuTime()
					for b.Loop() {
						h.Serve(msg, sc, false)
					}
					// CPU time, not wall time: on a loaded machine the
					// wall clock counts other processes' turns too.
					cpu := cpuTime() - start
					b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
					b.ReportMetric(float64(b.N)/cpu.Seconds(), "qps/cpu-s")
				})
			}
		}
	}
}

// TestSignedFastPathDoesNotAllocate: a DO query for a name of a signed
// zone, static or health-driven, is answered from the pre-signed packed
// answer without allocating, RRSIG included.
func TestSignedFastPathDoesNotAllocate(t *testing.T) {
	h := signedBenchHandler(t, 10, spec.AlgECDSAP256SHA256)
	sc := NewScratch(1)
	for _, name := range []string{"h5.bench.test.", "www.bench.test.", "bench.test."} {
		qtype := dns.TypeA
		if name == "bench.test." {
			qtype = dns.TypeDNSKEY
		}
		msg := doQuery(t, name, qtype)
		out := h.Serve(msg, sc, false)
		r := new(dns.Msg)
		if err := r.Unpack(out); err != nil || len(r.Answer) < 2 || r.Answer[len(r.Answer)-1].Header().Rrtype != dns.TypeRRSIG {
			t.Fatalf("%s: want a signed answer, got %v\n%s", name, err, r)
		}
		if !strings.Contains(r.String(), "do") {
			t.Errorf("%s: DO not echoed", name)
		}
		if n := testing.AllocsPerRun(100, func() { h.Serve(msg, sc, false) }); n != 0 {
			t.Errorf("%s with DO: %v allocations per query, want 0", name, n)
		}
	}
}
