package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/seed3787e6f1/detour/internal/node"
)

// certBackdate is how far before its making a certificate from `detour
// tls` is valid: a node whose clock is behind by up to this much still
// accepts a certificate made a moment ago (a node port refusing its
// peers' certificates as "not yet valid" would cut the node off).
const certBackdate = 25 * time.Hour

// testClockSkewEnv names a test-only setting: a duration (e.g. "-2h") by
// which the agent's own wall clock is off, for the chaos suite's "clock
// far off" fault (a Go binary reads the clock without libc, so faketime
// cannot do it, and a time namespace moves only the monotonic clocks). It
// moves every reading of the wall clock the node takes from its clock:
// the cluster clock's first base, the health checks' times, and the
// validity of the peers' certificates on the node port; not the log's
// timestamps nor the Raft timers (monotonic). Read only when set; never
// set it in production.
const testClockSkewEnv = "DETOUR_TEST_CLOCK_SKEW"

// applyTestClockSkew sets cfg's clock off by $DETOUR_TEST_CLOCK_SKEW.
func applyTestClockSkew(cfg *node.Config, logger *slog.Logger) error {
	v, ok := os.LookupEnv(testClockSkewEnv)
	if !ok {
		return nil
	}
	skew, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%s=%q: %w", testClockSkewEnv, v, err)
	}
	cfg.Now = func() time.Time { return time.Now().Add(skew) }
	logger.Warn("test-only setting: this node's wall clock is skewed", "env", testClockSkewEnv, "skew", skew)
	return nil
}
