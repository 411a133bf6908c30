package chaos

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// FaultDiskFull fills one node's data disk (the leader's half the time),
// the serving site dying during it half the time, and frees it again.
const FaultDiskFull = "data disk full"

// dataDiskSize is each node's data disk: a tmpfs of its own, ample for
// a trial's log and snapshots, small enough to fill at once.
const dataDiskSize = 64 << 20

// invDisk is the number of the full disk's assertion (docs/reliability.md).
const invDisk = 7

// dataDir is n's data directory, the mount point of its disk.
func (c *Cluster) dataDir(n *Node) string { return filepath.Join(c.dir, n.ID) }

// mountDisks gives every node's data directory a tmpfs of its own, so
// that one can fill up while the others have room.
func (c *Cluster) mountDisks() error {
	for _, n := range c.Nodes {
		dir := c.dataDir(n)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("chaos: %w", err)
		}
		opts := "size=" + strconv.Itoa(dataDiskSize) + ",mode=0700"
		if err := unix.Mount("detour-chaos", dir, "tmpfs", 0, opts); err != nil {
			return fmt.Errorf("chaos: mount %s's data disk: %w", n.ID, err)
		}
	}
	return nil
}

// unmountDisks detaches the nodes' data disks (their processes are gone).
func (c *Cluster) unmountDisks() {
	for _, n := range c.Nodes {
		_ = unix.Unmount(c.dataDir(n), unix.MNT_DETACH)
	}
}

// fillName is the file that takes a full disk's space.
const fillName = "chaos-fill"

// FillDisk writes to n's data disk until no byte is left.
func (c *Cluster) FillDisk(n *Node) error {
	f, err := os.OpenFile(filepath.Join(c.dataDir(n), fillName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("chaos: fill %s: %w", n.ID, err)
	}
	defer f.Close()
	for _, size := range []int{1 << 20, 4096, 1} {
		buf := make([]byte, size)
		for range dataDiskSize/size + 1 {
			if _, err := f.Write(buf); err != nil {
				if errors.Is(err, unix.ENOSPC) {
					break
				}
				return fmt.Errorf("chaos: fill %s: %w", n.ID, err)
			}
		}
	}
	return nil
}

// FreeDisk removes what FillDisk wrote.
func (c *Cluster) FreeDisk(n *Node) error {
	if err := os.Remove(filepath.Join(c.dataDir(n), fillName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("chaos: free %s: %w", n.ID, err)
	}
	return nil
}

// Exited says whether n's process ended without the suite killing it.
func (n *Node) Exited() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// diskFull fills a node's data disk for 9-13 s; half the time the
// serving site dies 2-3 s in and comes back 5-7 s later, before the disk
// is freed. Besides invariants 1-6 it checks (invDisk) that the node
// never says ready while it lags the others, says why it is not ready
// (its storage) and counts it in /metrics once its log falls behind, and
// does not crash.
func (tr *trial) diskFull(f *FaultRun) error {
	i, pickLeader, killSite := tr.rng.IntN(len(tr.c.Nodes)), tr.rng.IntN(2) == 0, tr.rng.IntN(2) == 0
	if l, ok := tr.leaderIdx(); ok && pickLeader {
		i, f.Leader = l, true
	}
	n := tr.c.Nodes[i]
	f.Label = fmt.Sprintf("%s (n%d, leader: %v, site dies: %v)", f.Kind, i+1, f.Leader, killSite)
	tr.w.SetDisk(i, true)
	if err := tr.c.FillDisk(n); err != nil {
		return err
	}
	w := startDiskWatch(tr.c, i)
	if killSite {
		tr.hold(2*time.Second, 3*time.Second)
		tr.siteDown(f, 0)
		tr.hold(5*time.Second, 7*time.Second)
		if err := tr.siteUp(0); err != nil {
			return err
		}
		tr.hold(2*time.Second, 3*time.Second)
	} else {
		tr.hold(9*time.Second, 13*time.Second)
	}
	w.stop()
	err := tr.c.FreeDisk(n)
	tr.w.SetDisk(i, false)
	f.Violations = append(f.Violations, w.verdict(tr.t0)...)
	if n.Exited() {
		f.Violations = append(f.Violations, Violation{Invariant: invDisk, T: time.Since(tr.t0), Node: n.ID, Fault: f.Kind,
			What: "exited while its disk was full:\n" + tr.c.Logs(n, 8)})
		_ = tr.c.Signal(n, unix.SIGKILL) // reap it; the heal starts it again
		tr.w.SetProc(i, procDead)
		if serr := tr.start(i); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	return err
}

// diskWatch polls a node with a full disk, and the others, every 250 ms.
type diskWatch struct {
	c     *Cluster
	i     int
	quit  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	polls []diskPoll
}

// diskPoll is one round of the watch.
type diskPoll struct {
	t       time.Time
	ready   int    // the full node's /v1/ready status, 0 no reply
	why     string // its reason
	applied uint64 // its applied index
	others  uint64 // the highest applied index of the others
	failing bool   // its /metrics says detour_raft_log_failing 1
}

func startDiskWatch(c *Cluster, i int) *diskWatch {
	w := &diskWatch{c: c, i: i, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			p := w.poll()
			w.mu.Lock()
			w.polls = append(w.polls, p)
			w.mu.Unlock()
			select {
			case <-w.quit:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *diskWatch) stop() {
	close(w.quit)
	<-w.done
}

func (w *diskWatch) poll() diskPoll {
	p := diskPoll{t: time.Now()}
	for _, n := range w.c.Nodes {
		var r struct {
			Status string `json:"status"`
			Why    string `json:"why"`
			freshness
		}
		code, b, err := w.c.Call(n, http.MethodGet, "/v1/ready", nil)
		if err != nil {
			continue
		}
		_ = json.Unmarshal(b, &r)
		if n.Idx != w.i {
			p.others = max(p.others, r.Freshness.AppliedIndex)
			continue
		}
		p.ready, p.why, p.applied = code, r.Why, r.Freshness.AppliedIndex
		if _, m, err := w.c.Call(n, http.MethodGet, "/metrics", nil); err == nil {
			p.failing = strings.Contains(string(m), "\ndetour_raft_log_failing 1")
		}
	}
	return p
}

// lagGrace is how long a node may trail the others' applied index of a
// moment before without a word: replication over the WAN and a retry.
const lagGrace = 3 * time.Second

// verdict checks the polls: a node that trails what the others had
// applied lagGrace before is not ready, says its storage is why, and
// shows detour_raft_log_failing.
func (w *diskWatch) verdict(start time.Time) []Violation {
	w.mu.Lock()
	defer w.mu.Unlock()
	id := w.c.Nodes[w.i].ID
	var out []Violation
	seen := map[string]bool{}
	add := func(p diskPoll, what string) {
		if seen[what] {
			return // once per fault is enough
		}
		seen[what] = true
		out = append(out, Violation{Invariant: invDisk, T: p.t.Sub(start), Node: id, Fault: FaultDiskFull, What: what})
	}
	for k, p := range w.polls {
		if p.ready == 0 {
			continue
		}
		var before uint64
		for _, q := range w.polls[:k] {
			if p.t.Sub(q.t) >= lagGrace {
				before = max(before, q.others)
			}
		}
		if before == 0 || p.applied >= before {
			continue
		}
		switch {
		case p.ready == http.StatusOK:
			add(p, fmt.Sprintf("full disk: says ready at applied index %d while the others had applied %d over %s before", p.applied, before, lagGrace))
		case !strings.Contains(p.why, "storage") && !strings.Contains(p.why, "Raft log"):
			add(p, fmt.Sprintf("full disk: not ready but does not say its storage is why: %q", p.why))
		case !p.failing:
			add(p, "full disk: trails the others but /metrics does not show detour_raft_log_failing 1")
		}
	}
	return out
}

// SetDisk records node i's data disk filling up or being freed.
func (w *World) SetDisk(i int, full bool) { w.change(w.disk, i, b2i(full)) }

// DiskFull is whether node i's data disk is full at t.
func (w *World) DiskFull(i int, t time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, _ := w.disk[i].at(t)
	return v == 1
}

// fullAndLast is whether the sample's node has a full disk and
// minority_mode last: it answers the cluster's last answers, by the
// operator's choice, as a cut-off node does (invariants 1 and 2 are not
// checked on it).
func fullAndLast(w *World, c *Cluster, s Sample) bool {
	return w.DiskFull(s.Node, s.T) && c.Nodes[s.Node].Mode == "last"
}

// fullAndApart is whether the sample's node has a full disk: it answers
// by its minority mode, as a cut-off node does (SERVFAIL, its last
// answers, or its own checks with the drains and pins it last applied),
// so invariant 3 leaves it out; invariants 1 and 2 still hold for it.
func fullAndApart(w *World, s Sample) bool { return w.DiskFull(s.Node, s.T) }
