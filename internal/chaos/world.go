package chaos

import (
	"sort"
	"sync"
	"time"
)

// Process states of a node.
const (
	procRunning = iota
	procStopped // SIGSTOP
	procDead    // killed, or stopped and not yet restarted
)

// series is one fact's value over time: each change and when.
type series struct {
	ts []time.Time
	vs []int
}

func (s *series) set(t time.Time, v int) {
	if n := len(s.vs); n > 0 && s.vs[n-1] == v {
		return
	}
	s.ts = append(s.ts, t)
	s.vs = append(s.vs, v)
}

// at is the value at t and since when it has held.
func (s *series) at(t time.Time) (int, time.Time) {
	i := sort.Search(len(s.ts), func(i int) bool { return s.ts[i].After(t) }) - 1
	if i < 0 {
		return s.vs[0], s.ts[0]
	}
	return s.vs[i], s.ts[i]
}

// World is the ground truth of a trial: which sites are up, which
// processes run, which node-network links are cut, and when each changed.
type World struct {
	mu      sync.Mutex
	n       int
	site    []series    // 1 up
	proc    []series    // procRunning, procStopped, procDead
	cutIn   []series    // 1: frames to the node are dropped
	cutOut  []series    // 1: frames from the node are dropped
	disk    []series    // 1: the node's data disk is full (diskfull.go)
	changes []time.Time // of the ground truth
	opTimes []time.Time // of writes, called or returned
}

// NewWorld is the truth of n datacenters, all up, from start.
func NewWorld(n int, start time.Time) *World {
	w := &World{n: n, site: make([]series, n), proc: make([]series, n), cutIn: make([]series, n), cutOut: make([]series, n), disk: make([]series, n)}
	for i := range n {
		w.site[i].set(start, 1)
		w.proc[i].set(start, procRunning)
		w.cutIn[i].set(start, 0)
		w.cutOut[i].set(start, 0)
		w.disk[i].set(start, 0)
	}
	return w
}

func (w *World) change(s []series, i, v int) { w.changeAt(s, i, v, time.Now()) }

func (w *World) changeAt(s []series, i, v int, t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s[i].set(t, v)
	w.changes = append(w.changes, t)
}

// SetSite records site i going up or down.
func (w *World) SetSite(i int, up bool) { w.change(w.site, i, b2i(up)) }

// SetProc records node i's process state.
func (w *World) SetProc(i, state int) { w.change(w.proc, i, state) }

// SetCut records node i's node-network links cut inbound and outbound.
func (w *World) SetCut(i int, in, out bool) {
	w.change(w.cutIn, i, b2i(in))
	w.change(w.cutOut, i, b2i(out))
}

// Touch records a change of something else (an override, a spec).
func (w *World) Touch() {
	w.mu.Lock()
	w.opTimes = append(w.opTimes, time.Now())
	w.mu.Unlock()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SiteUp is whether site i is up at t, and since when that holds.
func (w *World) SiteUp(i int, t time.Time) (bool, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, since := w.site[i].at(t)
	return v == 1, since
}

// Proc is node i's process state at t.
func (w *World) Proc(i int, t time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, _ := w.proc[i].at(t)
	return v
}

// linked is whether node i's links are whole at t.
func (w *World) linked(i int, t time.Time) bool {
	in, _ := w.cutIn[i].at(t)
	out, _ := w.cutOut[i].at(t)
	return in == 0 && out == 0
}

// CutOff is whether node i is running and fully partitioned at t, since
// when, and whether the partition is asymmetric.
func (w *World) CutOff(i int, t time.Time) (cut bool, since time.Time, asym bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	in, s1 := w.cutIn[i].at(t)
	out, s2 := w.cutOut[i].at(t)
	if in == 0 && out == 0 {
		return false, time.Time{}, false
	}
	return true, later(s1, s2), in != out
}

// InMajority is whether node i runs and reaches a majority of the nodes
// (itself included) at t.
func (w *World) InMajority(i int, t time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.inMajority(i, t)
}

func (w *World) inMajority(i int, t time.Time) bool {
	if v, _ := w.proc[i].at(t); v != procRunning || !w.linked(i, t) {
		return false
	}
	count := 0
	for j := range w.n {
		if v, _ := w.proc[j].at(t); v == procRunning && w.linked(j, t) {
			count++
		}
	}
	return 2*count > w.n
}

// QuorumSince is when the cluster last came to have a majority of running,
// linked nodes before t (zero when it has none at t). It scans back in
// steps of 50 ms.
func (w *World) QuorumSince(t time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	has := func(t time.Time) bool {
		for i := range w.n {
			if w.inMajority(i, t) {
				return true
			}
		}
		return false
	}
	if !has(t) {
		return time.Time{}
	}
	first := w.proc[0].ts[0]
	for u := t; u.After(first); u = u.Add(-50 * time.Millisecond) {
		if !has(u) {
			return u.Add(50 * time.Millisecond)
		}
	}
	return first
}

// QuietSince is the time of the last change of the ground truth at or
// before t, or also of a write when withOps.
func (w *World) QuietSince(t time.Time, withOps bool) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var last time.Time
	all := w.changes
	if withOps {
		all = append(append([]time.Time(nil), all...), w.opTimes...)
	}
	for _, c := range all {
		if !c.After(t) && c.After(last) {
			last = c
		}
	}
	return last
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
