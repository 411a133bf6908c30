package dnsserver_test

import (
	"log/slog"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/dnssec"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/internal/geoip"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/internal/testutil/geodb"
	"github.com/seed3787e6f1/detour/policy"
	"github.com/seed3787e6f1/detour/spec"
)

// signedGeoSpec is geoSpecText signed, its geo database at path.
func signedGeoSpec(path string) string {
	text := strings.Replace(geoSpecText, "/var/lib/detour/geo.mmdb", path, 1)
	return strings.Replace(text, "    nameservers: [ns1.geo.test.]\n",
		"    nameservers: [ns1.geo.test.]\n    dnssec: {enabled: true, algorithm: "+spec.AlgECDSAP256SHA256+"}\n", 1)
}

// geoKeyring is a keyring with a fresh key for geo.test.
func geoKeyring(t testing.TB) (dnssec.Keyring, *dnssec.Key) {
	t.Helper()
	k, err := dnssec.Generate("geo.test", spec.AlgECDSAP256SHA256, 3600, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return dnssec.Keyring{"geo.test.": {k}}, k
}

// startSignedGeo serves signedGeoSpec with a fresh key, placing clients
// with the test database.
func startSignedGeo(t testing.TB) (*controller.Local, *dnsserver.Server, *dnssec.Key) {
	t.Helper()
	path, err := geodb.WriteTemp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := spec.ParseLocal([]byte(signedGeoSpec(path)), ".")
	if err != nil {
		t.Fatal(err)
	}
	l, err := controller.NewLocal(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	ring, k := geoKeyring(t)
	db := geoip.New(geoip.Options{Path: func() string { return path }})
	db.Check()
	srv := dnsserver.NewServer(dnsserver.Config{Addr: "127.0.0.1:0", WatchInterval: 10 * time.Millisecond,
		DNSSECKeys: func() dnssec.Keyring { return ring }, PeerAllow: loopback, Options: dnsserver.Options{Geo: db}},
		l, slog.New(slog.DiscardHandler))
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	return l, srv, k
}

// askECS sends name/A with DO and an ECS option for subnet to server.
func askECS(t testing.TB, server, name, subnet string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	if err := m.Unpack(ecsQuery(t, name, subnet)); err != nil {
		t.Fatal(err)
	}
	m.IsEdns0().SetDo()
	r, _, err := (&dns.Client{Net: "udp", Timeout: 2 * time.Second}).Exchange(m, server)
	if err != nil {
		t.Fatalf("%s from %s: %v", name, subnet, err)
	}
	return r
}

// signedGeoAnswer checks r is a signed answer (every RRSIG verifies with
// key) and returns its last A record and ECS scope (-1 without ECS).
func signedGeoAnswer(t *testing.T, r *dns.Msg, key *dns.DNSKEY) (string, int) {
	t.Helper()
	if countType(r, dns.TypeRRSIG) == 0 {
		t.Errorf("no RRSIG in the answer:\n%s", r)
	}
	verifySections(t, r, key)
	out, err := r.Pack()
	if err != nil {
		t.Fatal(err)
	}
	a, ecs, _ := geoReply(t, out)
	if ecs == nil {
		return a, -1
	}
	return a, int(ecs.SourceScope)
}

// A DO query for a geo or nearest record of a signed zone gets the
// answer of where the client is, signed, with the scope an unsigned
// query gets; a failover moves the signed answers.
func TestSignedGeoAnswersByClient(t *testing.T) {
	l, srv, key := startSignedGeo(t)
	cases := []struct {
		qname, subnet, want string
		scope               int
	}{
		{"shop.geo.test.", "10.1.2.0/24", "192.0.2.2", 16},
		{"shop.geo.test.", "10.3.7.0/24", "192.0.2.1", 16},
		{"shop.geo.test.", "10.6.0.0/24", "192.0.2.3", 16},
		{"shop.geo.test.", "10.200.0.0/24", "192.0.2.1", 9},
		{"shop.geo.test.", "0.0.0.0/0", "192.0.2.1", 0},
		{"shop.geo.test.", "2001:db8:1::/56", "192.0.2.2", 48},
		{"alias.geo.test.", "10.1.2.0/24", "192.0.2.2", 16},
		{"alias.geo.test.", "10.6.0.0/24", "192.0.2.3", 16},
		{"near.geo.test.", "10.6.1.0/24", "192.0.2.3", 16},
		{"near.geo.test.", "10.1.1.0/24", "192.0.2.2", 16},
		{"near.geo.test.", "10.200.1.0/24", "192.0.2.1", 9},
	}
	for _, c := range cases {
		a, scope := signedGeoAnswer(t, askECS(t, srv.Addr(), c.qname, c.subnet), key.DNSKEY)
		if a != c.want || scope != c.scope {
			t.Errorf("%s from %s: %s scope %d, want %s scope %d", c.qname, c.subnet, a, scope, c.want, c.scope)
		}
	}
	// Without DO, the same answers, unsigned.
	m := new(dns.Msg)
	if err := m.Unpack(ecsQuery(t, "shop.geo.test.", "10.6.0.0/24")); err != nil {
		t.Fatal(err)
	}
	if r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, srv.Addr()); err != nil || countType(r, dns.TypeRRSIG) != 0 ||
		len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.3" {
		t.Errorf("without DO: want 192.0.2.3 unsigned, got %v\n%s", err, r)
	}
	// eu-west fails: EU clients get the EU rule's fallback, Frankfurt's
	// nearest is Ashburn; the others keep theirs. All signed.
	if err := l.SetHealth(down{"192.0.2.2": true}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "signed failover of the EU answer", 5*time.Second, func() bool {
		a, _ := signedGeoAnswer(t, askECS(t, srv.Addr(), "shop.geo.test.", "10.1.2.0/24"), key.DNSKEY)
		return a == "192.0.2.99"
	})
	for _, c := range []struct{ qname, subnet, want string }{
		{"alias.geo.test.", "10.1.2.0/24", "192.0.2.99"},
		{"near.geo.test.", "10.1.1.0/24", "192.0.2.1"},
		{"shop.geo.test.", "10.3.7.0/24", "192.0.2.1"},
		{"shop.geo.test.", "10.6.0.0/24", "192.0.2.3"},
	} {
		if a, scope := signedGeoAnswer(t, askECS(t, srv.Addr(), c.qname, c.subnet), key.DNSKEY); a != c.want || scope != 16 {
			t.Errorf("after the failover, %s from %s: %s scope %d, want %s scope 16", c.qname, c.subnet, a, scope, c.want)
		}
	}
}

// A validating resolver with the subnetcache module, the zone's DS as
// its trust anchor, validates each client's geo answer: AD on the EU,
// US and Asian answers and on the one for clients not placed.
func TestSignedGeoThroughValidatingUnbound(t *testing.T) {
	_, srv, key := startSignedGeo(t)
	unbound := testutil.StartValidatingUnboundECS(t, map[string]string{"geo.test.": srv.Addr()}, []string{key.DS().String()})
	for _, c := range []struct{ name, subnet, want string }{
		{"shop.geo.test", "10.1.2.0/24", "192.0.2.2"},
		{"shop.geo.test", "10.3.4.0/24", "192.0.2.1"},
		{"shop.geo.test", "10.6.0.0/24", "192.0.2.3"},
		{"shop.geo.test", "10.200.0.0/24", "192.0.2.1"},
		{"alias.geo.test", "10.6.1.0/24", "192.0.2.3"},
		{"near.geo.test", "10.1.1.0/24", "192.0.2.2"},
	} {
		out := testutil.Dig(t, unbound, "+dnssec", "+subnet="+c.subnet, c.name, "A")
		st := digStatus.FindStringSubmatch(out)
		fl := digFlags.FindStringSubmatch(out)
		if st == nil || st[1] != "NOERROR" || fl == nil || !strings.Contains(" "+fl[1]+" ", " ad ") || !strings.Contains(out, c.want) {
			t.Errorf("%s from %s via validating unbound: want NOERROR, AD and %s:\n%s", c.name, c.subnet, c.want, out)
		}
	}
}

// signedGeoHandler answers signedGeoSpec signed with a fresh key, as a
// server with keys does, placing clients with the test database; it
// returns the key too.
func signedGeoHandler(tb testing.TB) (*dnsserver.Handler, *dnssec.Key) {
	tb.Helper()
	path, err := geodb.WriteTemp(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	s, err := spec.ParseLocal([]byte(signedGeoSpec(path)), ".")
	if err != nil {
		tb.Fatal(err)
	}
	zs, err := dnsserver.NewZoneSet(s)
	if err != nil {
		tb.Fatal(err)
	}
	snap, err := dnsserver.Build(zs, controller.DynamicAnswers(policy.Evaluate(s, downSet(nil))), nil, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	ring, key := geoKeyring(tb)
	db := geoip.New(geoip.Options{Path: func() string { return path }})
	db.Check()
	h := dnsserver.NewSigningHandlerForTest(fixedSnap{snap}, dnsserver.Config{DNSSECKeys: func() dnssec.Keyring { return ring }, Options: dnsserver.Options{Geo: db}})
	return h, key
}

// doECSQueries is ecsQueries with DO set.
func doECSQueries(b *testing.B, name string) [][]byte {
	var out [][]byte
	for _, q := range ecsQueries(b, name) {
		m := new(dns.Msg)
		if err := m.Unpack(q); err != nil {
			b.Fatal(err)
		}
		m.IsEdns0().SetDo()
		w, err := m.Pack()
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, w)
	}
	return out
}

// BenchmarkSignedGeo compares, on one handler of a signed zone, geo
// queries with ECS from a spread of subnets without DO and with DO (the
// pre-signed answer of the client's place), and a static record with DO;
// cpu-ns/op is the process's CPU time per query.
func BenchmarkSignedGeo(b *testing.B) {
	h, _ := signedGeoHandler(b)
	for _, c := range []struct {
		name string
		msgs [][]byte
	}{
		{"plain-do", doECSQueries(b, "plain.geo.test.")},
		{"geo-ecs", ecsQueries(b, "shop.geo.test.")},
		{"geo-ecs-do", doECSQueries(b, "shop.geo.test.")},
		{"nearest-ecs-do", doECSQueries(b, "near.geo.test.")},
	} {
		b.Run(c.name, func(b *testing.B) {
			sc := dnsserver.NewScratch(1)
			b.ReportAllocs()
			i, n := 0, 0
			start := processCPU()
			for b.Loop() {
				h.Serve(c.msgs[i], sc, false)
				if i++; i == len(c.msgs) {
					i = 0
				}
				n++
			}
			b.ReportMetric(float64(processCPU()-start)/float64(n), "cpu-ns/op")
		})
	}
}

// A signed geo DO query is answered from the pre-signed alternatives
// without allocating.
func TestSignedGeoFastPathDoesNotAllocate(t *testing.T) {
	h, key := signedGeoHandler(t)
	sc := dnsserver.NewScratch(1)
	for _, c := range []struct{ qname, subnet, want string }{
		{"shop.geo.test.", "10.1.2.0/24", "192.0.2.2"},
		{"shop.geo.test.", "10.6.0.0/24", "192.0.2.3"},
		{"near.geo.test.", "10.6.1.0/24", "192.0.2.3"},
		{"alias.geo.test.", "10.3.7.0/24", "192.0.2.1"},
	} {
		q := new(dns.Msg)
		_ = q.Unpack(ecsQuery(t, c.qname, c.subnet))
		q.IsEdns0().SetDo()
		msg, err := q.Pack()
		if err != nil {
			t.Fatal(err)
		}
		r := new(dns.Msg)
		if err := r.Unpack(h.ServeFrom(msg, sc, netip.MustParseAddr("127.0.0.1"), false)); err != nil {
			t.Fatal(err)
		}
		if a, _ := signedGeoAnswer(t, r, key.DNSKEY); a != c.want {
			t.Errorf("%s from %s: %s, want %s", c.qname, c.subnet, a, c.want)
		}
		if n := testing.AllocsPerRun(100, func() { h.ServeFrom(msg, sc, netip.MustParseAddr("127.0.0.1"), false) }); n != 0 {
			t.Errorf("%s from %s with DO: %v allocations per query, want 0", c.qname, c.subnet, n)
		}
	}
}

// processCPU is the CPU time (user and system) this process has used:
// on a shared machine a steadier measure than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
