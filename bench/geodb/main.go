// Command geodb writes the test MaxMind database of
// internal/testutil/geodb (a few networks per continent and country,
// with coordinates) to the path given: bench/geo-qps.sh serves it to
// detour and gdnsd alike.
package main

import (
	"fmt"
	"os"

	"github.com/seed3787e6f1/detour/internal/testutil/geodb"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: geodb FILE.mmdb")
		os.Exit(2)
	}
	if err := geodb.Write(os.Args[1], nil); err != nil {
		fmt.Fprintln(os.Stderr, "geodb:", err)
		os.Exit(1)
	}
}
