package dnsserver_test

import (
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/dnsserver"
)

// benchSubnets is a spread of client subnets over the test database:
// every continent, two networks per country, IPv6, and unknown ones.
var benchSubnets = []string{
	"10.1.2.0/24", "10.1.200.0/24", "10.2.3.0/24", "10.9.0.0/24", "10.9.1.0/25",
	"10.3.4.0/24", "10.3.99.0/24", "10.4.5.0/24", "10.5.6.0/24",
	"10.6.7.0/24", "10.7.8.0/24", "10.8.9.0/24", "10.10.1.0/24",
	"10.200.1.0/24", "10.201.0.0/24", "2001:db8:1::/56", "2001:db8:2::/56", "2001:db8:3::/56",
}

// benchGeoServe answers msgs in turn, as a UDP worker does.
func benchGeoServe(b *testing.B, msgs [][]byte) {
	h := geoHandler(b, nil)
	sc := dnsserver.NewScratch(1)
	for _, m := range msgs {
		if out := h.Serve(m, sc, false); out == nil || out[3]&0xF != 0 {
			b.Fatalf("reply %v", out)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h.Serve(msgs[i], sc, false)
		if i++; i == len(msgs) {
			i = 0
		}
	}
}

func ecsQueries(b *testing.B, name string) [][]byte {
	var out [][]byte
	for _, s := range benchSubnets {
		out = append(out, ecsQuery(b, name, s))
	}
	return out
}

// BenchmarkGeo compares a geo query with ECS from a spread of subnets
// with a plain fast-path query (a static record, EDNS, no ECS) on the
// same handler: docs/benchmarks.md has the figures.
func BenchmarkGeo(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchGeoServe(b, [][]byte{ecsQuery(b, "plain.geo.test.", "")}) })
	b.Run("plain-ecs", func(b *testing.B) { benchGeoServe(b, ecsQueries(b, "plain.geo.test.")) })
	b.Run("geo-ecs", func(b *testing.B) { benchGeoServe(b, ecsQueries(b, "shop.geo.test.")) })
	b.Run("nearest-ecs", func(b *testing.B) { benchGeoServe(b, ecsQueries(b, "near.geo.test.")) })
	b.Run("geo-source", func(b *testing.B) { benchGeoServe(b, [][]byte{ecsQuery(b, "shop.geo.test.", "")}) })
}

// BenchmarkGeoRatio times batches of plain fast-path queries and of geo
// queries with ECS from a spread of subnets in turn, on one handler, and
// reports the cost of a geo query over a plain one (geo/plain; a plain
// query with ECS from the same subnets for comparison), each
// from its fastest batch: on a shared machine the slowest batches are
// other programs' time.
func BenchmarkGeoRatio(b *testing.B) {
	for _, name := range []string{"shop.geo.test.", "near.geo.test."} {
		b.Run(name, func(b *testing.B) {
			h := geoHandler(b, nil)
			sc := dnsserver.NewScratch(1)
			plain := [][]byte{ecsQuery(b, "plain.geo.test.", "")}
			plainECS := ecsQueries(b, "plain.geo.test.")
			geo := ecsQueries(b, name)
			const batch = 2000
			best := func(msgs [][]byte, cur time.Duration) time.Duration {
				start := time.Now()
				for i := range batch {
					h.Serve(msgs[i%len(msgs)], sc, false)
				}
				return min(cur, time.Since(start))
			}
			bp, be, bg := time.Hour, time.Hour, time.Hour
			for b.Loop() {
				bp = best(plain, bp)
				be = best(plainECS, be)
				bg = best(geo, bg)
			}
			b.ReportMetric(float64(bp.Nanoseconds())/batch, "plain-ns/q")
			b.ReportMetric(float64(be.Nanoseconds())/batch, "plain-ecs-ns/q")
			b.ReportMetric(float64(bg.Nanoseconds())/batch, "geo-ns/q")
			b.ReportMetric(float64(bg)/float64(bp), "geo/plain")
		})
	}
}
