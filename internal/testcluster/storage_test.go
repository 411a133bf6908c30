package testcluster

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// failingLog is a Raft log store whose writes fail while fail is set, as
// on a full disk.
type failingLog struct {
	raft.LogStore
	fail *atomic.Bool
}

var errDiskFull = fmt.Errorf("write raft.db: %w", syscall.ENOSPC)

func (f failingLog) StoreLog(l *raft.Log) error {
	if f.fail.Load() {
		return errDiskFull
	}
	return f.LogStore.StoreLog(l)
}

func (f failingLog) StoreLogs(ls []*raft.Log) error {
	if f.fail.Load() {
		return errDiskFull
	}
	return f.LogStore.StoreLogs(ls)
}

func (f failingLog) DeleteRange(lo, hi uint64) error {
	if f.fail.Load() {
		return errDiskFull
	}
	return f.LogStore.DeleteRange(lo, hi)
}

// diskCluster starts a cluster whose members' log stores fail on demand.
func diskCluster(t *testing.T) (*Cluster, map[string]*atomic.Bool) {
	t.Helper()
	full := map[string]*atomic.Bool{}
	c := New(t, Options{Configure: func(m *Member, cfg *node.Config) {
		fail := new(atomic.Bool)
		full[m.ID] = fail
		cfg.WrapLogStore = func(s raft.LogStore) raft.LogStore { return failingLog{LogStore: s, fail: fail} }
	}})
	return c, full
}

// A follower whose disk filled up kept answering and reporting ready
// while its applied index froze behind, and storage errors reached
// clients as 409. Now it reports not ready with the reason, counts the
// failures in /metrics, refuses writes with a retryable 503, keeps
// answering DNS from its last state, and is ready again once it can
// write.
func TestFollowerDiskFull(t *testing.T) {
	c, full := diskCluster(t)
	leader := c.Leader()
	f := c.Member("us-west")
	if f == leader {
		f = c.Member("eu-west")
	}
	full[f.ID].Store(true) // the observers' reports keep the leader appending
	code, body := waitReadyCode(t, f, http.StatusServiceUnavailable, 10*time.Second)
	if !strings.Contains(body, "cannot write its Raft log") || !strings.Contains(body, "no space left") {
		t.Errorf("/v1/ready of the follower with a full disk: %d %s; want the reason", code, body)
	}
	_, metrics, _ := get(t, f, "/metrics")
	if !strings.Contains(metrics, "detour_raft_log_failing 1") || metricValue(t, metrics, "detour_raft_log_write_errors_total") < 1 {
		t.Errorf("/metrics does not show the failing log:\n%s", grepLines(metrics, "detour_raft_log"))
	}
	code, body, header := postDrainHeader(t, f, "eu-west", "")
	if code != http.StatusServiceUnavailable || header.Get("Retry-After") == "" || !strings.Contains(body, "storage") {
		t.Errorf("a drain on the follower with a full disk: %d (Retry-After %q) %s; want a retryable 503", code, header.Get("Retry-After"), body)
	}
	if got := c.Answer(f); got != Answers["us-east"] {
		t.Errorf("the follower with a full disk answers %s, want its last answer %s", got, Answers["us-east"])
	}
	if code, body := postDrain(t, leader, "eu-west", ""); code != http.StatusOK {
		t.Fatalf("a drain on the leader, whose disk is fine: %d %s", code, body)
	}
	full[f.ID].Store(false)
	waitReadyCode(t, f, http.StatusOK, 15*time.Second)
	c.CheckInvariants()
}

// A leader whose disk fills up steps down; a write that met it is
// retried on the next leader or refused with a retryable 503, never
// refused for good with 409.
func TestLeaderDiskFull(t *testing.T) {
	c, full := diskCluster(t)
	leader := c.Leader()
	var other *Member
	for _, m := range c.Members {
		if m != leader {
			other = m
		}
	}
	full[leader.ID].Store(true)
	deadline := time.Now().Add(30 * time.Second)
	var codes []int
	for {
		code, body, header := postDrainHeader(t, other, "eu-west", "")
		codes = append(codes, code)
		if code == http.StatusOK {
			break
		}
		if code != http.StatusServiceUnavailable || header.Get("Retry-After") == "" && !strings.Contains(body, "no leader") {
			t.Fatalf("a drain while the leader's disk is full: %d (Retry-After %q) %s; want 200 or a retryable 503", code, header.Get("Retry-After"), body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write succeeded within 30s of the leader's disk filling up: %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("replies to the drain while the leader's disk was full: %v", codes)
	for _, m := range c.Members {
		if m == leader {
			continue
		}
		testutil.Eventually(t, m.ID+" to hold the accepted drain", 10*time.Second, func() bool { return hasDrain(m, "eu-west") })
	}
	full[leader.ID].Store(false)
	waitReadyCode(t, leader, http.StatusOK, 15*time.Second)
	c.CheckInvariants()
}

func hasDrain(m *Member, target string) bool {
	_, found := m.Node.Store().FSM().View().Drain(target)
	return found
}

// metricValue reads an unlabelled metric from a Prometheus text page.
func metricValue(t *testing.T, page, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(page)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func grepLines(page, substr string) string {
	var out []string
	for _, l := range strings.Split(page, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
