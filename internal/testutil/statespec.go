package testutil

import (
	"fmt"
	"strings"
)

// StateSpec is the spec of the size-of-state benchmarks (the state
// machine's and a whole node's): records failover records
// r<i>.example.test with the TTL given, each over one pool per
// datacenter (r<i>-<datacenter>) of one endpoint (StateAddr), checked
// over TCP at 127.0.0.1:1 (refused: every endpoint down) every 5 s.
func StateSpec(records int, ttl uint32, datacenters []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: |
      ns1 IN A 127.0.0.1
datacenters: [%s]
checks:
  - {name: c, type: tcp, interval: 5s, timeout: 1s, rise: 1, fall: 1}
pools:
`, "{name: "+strings.Join(datacenters, "}, {name: ")+"}")
	for i := range records {
		for d, dc := range datacenters {
			fmt.Fprintf(&b, "  - {name: %s, datacenter: %s, check: c, endpoints: [{address: %s, check_address: \"127.0.0.1:1\"}]}\n", StatePool(i, dc), dc, StateAddr(d, i))
		}
	}
	b.WriteString("records:\n")
	pools := make([]string, len(datacenters))
	for i := range records {
		for d, dc := range datacenters {
			pools[d] = StatePool(i, dc)
		}
		fmt.Fprintf(&b, "  - {name: r%d.example.test, type: A, ttl: %d, policy: failover, pools: [%s]}\n", i, ttl, strings.Join(pools, ", "))
	}
	return b.String()
}

// StatePool is the name of record i's pool in datacenter dc.
func StatePool(i int, dc string) string { return fmt.Sprintf("r%d-%s", i, dc) }

// StateAddr is record i's address in the d-th datacenter.
func StateAddr(d, i int) string { return fmt.Sprintf("10.%d.%d.%d", d+1, i/256, i%256) }
