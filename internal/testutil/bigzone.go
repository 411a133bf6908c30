package testutil

import (
	"fmt"
	"strings"
)

// BigZoneText is zone-file text of n A records, h0 .. h(n-1), relative
// to the zone's origin: the large static zone of the spec-apply tests
// and benchmarks. BigZoneAnswer is what each answers.
func BigZoneText(n int) string {
	var b strings.Builder
	b.Grow(n * 28)
	for i := range n {
		fmt.Fprintf(&b, "h%d IN A %s\n", i, BigZoneAnswer(i))
	}
	return b.String()
}

// BigZoneAnswer is the address record hI of BigZoneText answers.
func BigZoneAnswer(i int) string {
	return fmt.Sprintf("10.%d.%d.%d", (i>>16)%256, (i>>8)%256, i%256)
}
