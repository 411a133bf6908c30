package dnsserver_test

import (
	"fmt"
	"testing"

	"github.com/seed3787e6f1/detour/dnsserver"
)

// Geo queries from a flood of client networks never seen before (one new
// /24 a query, placed and not) are answered without allocating.
func TestGeoFloodDoesNotAllocate(t *testing.T) {
	h := geoHandler(t, nil)
	sc := dnsserver.NewScratch(1)
	const n = 4096
	msgs := make([][]byte, n)
	for i := range msgs {
		// 10.0-15.x.0/24: placed (10.1-10.10) and not.
		msgs[i] = ecsQuery(t, "near.geo.test.", fmt.Sprintf("10.%d.%d.0/24", i>>8, i&0xFF))
	}
	i := 0
	allocs := testing.AllocsPerRun(n-1, func() {
		out := h.Serve(msgs[i], sc, false)
		if out == nil || out[3]&0xF != 0 {
			t.Fatalf("query %d: reply %v", i, out)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("%v allocations per geo query from a new network, want 0", allocs)
	}
}
