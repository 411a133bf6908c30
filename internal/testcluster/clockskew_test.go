package testcluster

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// A member whose wall clock is two hours off changed nothing the cluster
// decides (TestSkewedClockRulesNothing), and nothing said so: it signs,
// stamps and judges certificates by that clock. The leader measures each
// member's clock in its probes and shows the skew in /v1/members and
// /metrics.
func TestClockSkewReported(t *testing.T) {
	c, skews := skewedCluster(t)
	leader := c.Leader()
	var off *Member
	for _, m := range c.Members {
		if m != leader {
			off = m
			break
		}
	}
	skews[off.ID].Store(int64(-2 * time.Hour))
	want := float64(-2 * time.Hour / time.Millisecond)
	testutil.Eventually(t, "the leader's members table to show "+off.ID+"'s skew", 10*time.Second, func() bool {
		_, body, _ := get(t, leader, "/v1/members")
		var r struct {
			Members []controller.MemberInfo `json:"members"`
		}
		if json.Unmarshal([]byte(body), &r) != nil {
			return false
		}
		for _, m := range r.Members {
			if m.ID == off.ID {
				return math.Abs(m.ClockSkewMS-want) < 2000
			}
		}
		return false
	})
	_, metrics, _ := get(t, leader, "/metrics")
	m := regexp.MustCompile(`detour_clock_skew_seconds\{member="` + off.ID + `"\} (\S+)`).FindStringSubmatch(metrics)
	if m == nil {
		t.Fatalf("/metrics of the leader has no detour_clock_skew_seconds for %s", off.ID)
	}
	if v, _ := strconv.ParseFloat(m[1], 64); math.Abs(v+7200) > 2 {
		t.Errorf("detour_clock_skew_seconds{member=%q} = %s, want about -7200", off.ID, m[1])
	}
}
