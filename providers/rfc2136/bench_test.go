package rfc2136_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/providers/providertest"
)

// BenchmarkFailover100Knot measures, for 100 records failing over in one
// apply, the time from the decision to Knot DNS answering the new address
// for the last of them, and the DNS messages sent.
func BenchmarkFailover100Knot(b *testing.B) {
	const n = 100
	addr := testutil.StartKnotUpdate(b, "example.test.", zoneText, testutil.TSIGKey{Name: "detour-key", Algorithm: "hmac-sha256", Secret: secret256})
	spec := specYAML(addr, "hmac-sha256", "1h")
	var recs strings.Builder
	for i := 1; i < n; i++ {
		fmt.Fprintf(&recs, "  - {name: www%d.example.test, type: A, ttl: 30, pools: [pa, pb]}\n", i)
	}
	spec = strings.Replace(spec, "providers:\n", recs.String()+"providers:\n", 1)
	src := providertest.NewSource(b, spec)
	set := func(a string) {
		src.SetMany(func(set func(string, string, ...string)) {
			for i := 0; i < n; i++ {
				set(fmt.Sprintf("www%d.example.test.", i), "A", a)
			}
		})
	}
	set("192.0.2.1")
	leader := &providertest.Leader{}
	leader.Set(true)
	m := manager(b, src, leader, secret256)
	c := &dns.Client{Net: "udp", Timeout: time.Second}
	answers := func(name, want string) bool {
		q := new(dns.Msg)
		q.SetQuestion(name, dns.TypeA)
		r, _, err := c.Exchange(q, addr)
		return err == nil && len(r.Answer) == 1 && r.Answer[0].(*dns.A).A.String() == want
	}
	last := fmt.Sprintf("www%d.example.test.", n-1)
	for !answers(last, "192.0.2.1") {
		time.Sleep(time.Millisecond)
	}
	before := m.Status()[0].Requests
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		want := "198.51.100.1"
		if i%2 == 1 {
			want = "192.0.2.1"
		}
		start := time.Now()
		set(want)
		for !answers(last, want) || !answers("www0.example.test.", want) {
			time.Sleep(200 * time.Microsecond)
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/failover")
	b.ReportMetric(float64(m.Status()[0].Requests-before)/float64(b.N), "messages/failover")
}
