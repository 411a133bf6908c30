package testcluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// traceOn is whether region trials trace what each survivor did during
// the event (DETOUR_BENCH_TRACE=1): the nodes log at debug level, which
// costs CPU of its own, so it is off by default.
var traceOn = os.Getenv("DETOUR_BENCH_TRACE") != ""

// regionTrace follows one region-wide failover on every survivor: when it
// knew the new leader, when its health engine saw the lost datacenter's
// endpoints down, its reports, and when each observer's verdicts on them
// were applied on each survivor.
type regionTrace struct {
	r       *Region
	lost    string // the lost datacenter
	lostID  string // its node
	members []*Member
	start   time.Time

	mu sync.Mutex
	// leader is when each survivor first knew a leader other than the
	// lost node, and which.
	leader map[string]time.Time
	newID  string
	// leaders[node] is every change of the leader it knew, "" for none.
	leaders map[string][]string
	// raftLogs[node] are its Raft messages (info and up) after the loss.
	raftLogs map[string][]string
	// firstDown[survivor][observer][i] is when the survivor first
	// applied observer's down verdict on record i's lost endpoint.
	firstDown map[string]map[string][]time.Time
	// down[node] are the times its engine turned lost endpoints down.
	down map[string][]time.Time
	// reports[node] are its reports.
	reports map[string][]traceReport
	// applied[survivor][observer] is when the survivor first applied a
	// verdict of observer's saying a lost endpoint is down, and when all
	// of them were.
	applied map[string]map[string]*[2]time.Time
	// stale[survivor] is when it applied the lost observer gone stale.
	stale map[string]time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
	// killed is when the lost endpoints' process said they were closed.
	killed time.Time
	// pools and addrs name each record's lost endpoint.
	pools, addrs []string
	// downIndex[survivor] is the index of the last apply that showed it
	// a new down verdict on a lost endpoint; published[survivor] is
	// when its DNS answers were first built from that index or later.
	downIndex map[string]uint64
	published map[string]time.Time
}

// traceReport is one report an observer made.
type traceReport struct {
	proposed, done time.Time
	changes, down  int
	err            string
}

// newRegionTrace starts nothing yet: Logger is the cluster's logger
// (debug level, feeding the trace) when tracing is on, else nil.
func newRegionTrace(r *Region, lost string) *regionTrace {
	return &regionTrace{r: r, lost: lost, leader: map[string]time.Time{}, down: map[string][]time.Time{},
		reports: map[string][]traceReport{}, applied: map[string]map[string]*[2]time.Time{},
		stale: map[string]time.Time{}, stop: make(chan struct{}),
		leaders: map[string][]string{}, raftLogs: map[string][]string{}, firstDown: map[string]map[string][]time.Time{},
		downIndex: map[string]uint64{}, published: map[string]time.Time{}}
}

// Logger is the cluster's logger: nil (discard) unless tracing is on.
func (tr *regionTrace) Logger() *slog.Logger {
	if !traceOn {
		return nil
	}
	return slog.New(&traceHandler{tr: tr})
}

// Start begins watching the survivors ms; the lost node was lostID.
func (tr *regionTrace) Start(start time.Time, lostID string, ms []*Member) {
	tr.mu.Lock()
	tr.start, tr.lostID, tr.members = start, lostID, ms
	tr.mu.Unlock()
	for i := range tr.r.Records {
		tr.pools = append(tr.pools, fmt.Sprintf("r%d-%s", i, tr.lost))
		tr.addrs = append(tr.addrs, tr.r.Address(tr.lost, i))
	}
	for _, m := range ms {
		tr.applied[m.ID] = map[string]*[2]time.Time{}
		tr.firstDown[m.ID] = map[string][]time.Time{}
	}
	for _, m := range ms {
		tr.wg.Go(func() { tr.watch(m) })
	}
}

// Killed notes when the lost endpoints were closed.
func (tr *regionTrace) Killed(at time.Time) {
	tr.mu.Lock()
	tr.killed = at
	tr.mu.Unlock()
}

// Stop ends the watching.
func (tr *regionTrace) Stop() {
	close(tr.stop)
	tr.wg.Wait()
}

// watch follows survivor m's leader and applied state until Stop.
func (tr *regionTrace) watch(m *Member) {
	st := m.Node.Store()
	fsm := st.FSM()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	knew := false
	last := "?"
	changed := fsm.Changed()
	tr.applyCounts(m)
	for {
		select {
		case <-tr.stop:
			return
		case <-changed:
			changed = fsm.Changed()
			tr.applyCounts(m)
		case <-tick.C:
			tr.mu.Lock()
			if want := tr.downIndex[m.ID]; want > 0 && fsm.PublishedIndex() >= want {
				if tr.published[m.ID].IsZero() || tr.published[m.ID].Before(tr.lastDown(m.ID)) {
					tr.published[m.ID] = time.Now()
				}
			}
			tr.mu.Unlock()
			id, _ := st.Leader()
			if id != last {
				last = id
				tr.mu.Lock()
				tr.leaders[m.ID] = append(tr.leaders[m.ID], fmt.Sprintf("%s@%.2f", id, time.Since(tr.start).Seconds()))
				tr.mu.Unlock()
			}
			if knew {
				continue
			}
			if id != "" && id != tr.lostID {
				knew = true
				tr.mu.Lock()
				tr.leader[m.ID], tr.newID = time.Now(), id
				tr.mu.Unlock()
			}
		}
	}
}

// applyCounts notes, for m's applied state, how many lost endpoints each
// observer holds down.
func (tr *regionTrace) applyCounts(m *Member) {
	v := m.Node.Store().FSM().View()
	now := time.Now()
	for _, o := range v.Observers() {
		tr.mu.Lock()
		fd := tr.firstDown[m.ID][o.ID]
		if fd == nil {
			fd = make([]time.Time, tr.r.Records)
			tr.firstDown[m.ID][o.ID] = fd
		}
		tr.mu.Unlock()
		n := 0
		for i := range tr.r.Records {
			vd, ok := v.Verdict(o.ID, tr.pools[i], tr.addrs[i])
			if ok && !vd.Up {
				n++
				if fd[i].IsZero() {
					fd[i] = now
					tr.mu.Lock()
					tr.downIndex[m.ID] = max(tr.downIndex[m.ID], v.Index())
					tr.mu.Unlock()
				}
			}
		}
		tr.mu.Lock()
		a := tr.applied[m.ID][o.ID]
		if a == nil {
			a = &[2]time.Time{}
			tr.applied[m.ID][o.ID] = a
		}
		if n > 0 && a[0].IsZero() {
			a[0] = now
		}
		if n == tr.r.Records && a[1].IsZero() {
			a[1] = now
		}
		if o.ID == tr.lostID && !o.Fresh && tr.stale[m.ID].IsZero() {
			tr.stale[m.ID] = now
		}
		tr.mu.Unlock()
	}
}

// Summary is one line per survivor, times from the loss.
func (tr *regionTrace) Summary(moves Moves) string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	ms := func(t time.Time) string {
		if t.IsZero() || t.Before(tr.start) {
			return "-"
		}
		return fmt.Sprintf("%.2f", t.Sub(tr.start).Seconds())
	}
	var b strings.Builder
	fmt.Fprintf(&b, "new leader %s; endpoints closed %s", tr.newID, ms(tr.killed))
	for _, m := range tr.members {
		fmt.Fprintf(&b, "\n  %s: leader known %s", m.ID, ms(tr.leader[m.ID]))
		if d := tr.down[m.ID]; len(d) > 0 {
			slices.SortFunc(d, func(a, b time.Time) int { return a.Compare(b) })
			fmt.Fprintf(&b, "; engine down %d: %s..%s", len(d), ms(d[0]), ms(d[len(d)-1]))
		}
		var reps []string
		for _, r := range tr.reports[m.ID] {
			if r.done.Before(tr.start) {
				continue
			}
			s := fmt.Sprintf("%s+%dms(%d/%d)", ms(r.proposed), r.done.Sub(r.proposed).Milliseconds(), r.down, r.changes)
			if r.err != "" {
				s += "ERR:" + r.err
			}
			reps = append(reps, s)
		}
		if len(reps) > 0 {
			fmt.Fprintf(&b, "; reports %s", strings.Join(reps, " "))
		}
		var ap []string
		for _, id := range slices.Sorted(func(yield func(string) bool) {
			for id := range tr.applied[m.ID] {
				if !yield(id) {
					return
				}
			}
		}) {
			a := tr.applied[m.ID][id]
			ap = append(ap, fmt.Sprintf("%s %s..%s", id, ms(a[0]), ms(a[1])))
		}
		fmt.Fprintf(&b, "; applied down %s", strings.Join(ap, ", "))
		if s := tr.stale[m.ID]; !s.IsZero() {
			fmt.Fprintf(&b, "; lost observer stale %s", ms(s))
		}
		var first, last time.Time
		for _, at := range moves[m] {
			if at.IsZero() {
				continue
			}
			if first.IsZero() || at.Before(first) {
				first = at
			}
			if at.After(last) {
				last = at
			}
		}
		fmt.Fprintf(&b, "; answers built from the last down verdict %s; moved %s..%s", ms(tr.published[m.ID]), ms(first), ms(last))
		fmt.Fprintf(&b, "\n    leaders %s", strings.Join(tr.leaders[m.ID], " "))
		fmt.Fprintf(&b, "\n    moves %s", tr.moveShape(m, moves[m], ms))
		for _, l := range tr.raftLogs[m.ID] {
			fmt.Fprintf(&b, "\n    raft %s", l)
		}
	}
	return b.String()
}

// lastDown is when survivor id first applied the last of the lost
// endpoints' down verdicts it applied; tr.mu is held.
func (tr *regionTrace) lastDown(id string) time.Time {
	var last time.Time
	for _, fd := range tr.firstDown[id] {
		for _, t := range fd {
			if t.After(last) {
				last = t
			}
		}
	}
	return last
}

// moveShape is when survivor m's records moved (percentiles) and, for
// the last one, when m applied each observer's down verdict on it.
func (tr *regionTrace) moveShape(m *Member, at []time.Time, ms func(time.Time) string) string {
	type mv struct {
		i  int
		at time.Time
	}
	var all []mv
	for i, t := range at {
		if !t.IsZero() {
			all = append(all, mv{i, t})
		}
	}
	if len(all) == 0 {
		return "none"
	}
	slices.SortFunc(all, func(a, b mv) int { return a.at.Compare(b.at) })
	q := func(p float64) string { return ms(all[int(p*float64(len(all)-1))].at) }
	out := fmt.Sprintf("p10 %s p50 %s p90 %s p99 %s max %s (r%d:", q(0.1), q(0.5), q(0.9), q(0.99), q(1), all[len(all)-1].i)
	for id, fd := range tr.firstDown[m.ID] {
		out += fmt.Sprintf(" %s down %s", id, ms(fd[all[len(all)-1].i]))
	}
	return out + ")"
}

// traceHandler feeds the trace from the nodes' debug logs.
type traceHandler struct {
	tr    *regionTrace
	attrs []slog.Attr
}

func (h *traceHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelDebug }

func (h *traceHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &traceHandler{tr: h.tr, attrs: append(slices.Clone(h.attrs), as...)}
}

func (h *traceHandler) WithGroup(string) slog.Handler { return h }

func (h *traceHandler) Handle(_ context.Context, r slog.Record) error {
	node, component := "", ""
	for _, a := range h.attrs {
		switch a.Key {
		case "node":
			node = a.Value.String()
		case "component":
			component = a.Value.String()
		}
	}
	if r.Level >= slog.LevelInfo && (component == "raft" || component == "controller") {
		h.tr.mu.Lock()
		if !h.tr.start.IsZero() && r.Time.After(h.tr.start) {
			h.tr.raftLogs[node] = append(h.tr.raftLogs[node], fmt.Sprintf("%.2f %s %s", r.Time.Sub(h.tr.start).Seconds(), component, r.Message))
		}
		h.tr.mu.Unlock()
		return nil
	}
	if r.Message != "verdict changed" && r.Message != "health report" {
		return nil
	}
	get := map[string]slog.Value{}
	r.Attrs(func(a slog.Attr) bool { get[a.Key] = a.Value; return true })
	h.tr.mu.Lock()
	defer h.tr.mu.Unlock()
	switch r.Message {
	case "verdict changed":
		if strings.HasSuffix(get["pool"].String(), "-"+h.tr.lost) && get["to"].String() == "down" {
			h.tr.down[node] = append(h.tr.down[node], get["at"].Time())
		}
	case "health report":
		rep := traceReport{proposed: get["proposed"].Time(), changes: int(get["changes"].Int64()), down: int(get["down"].Int64())}
		rep.done = rep.proposed.Add(get["took"].Duration())
		if e := get["err"]; e.Kind() != slog.KindAny || e.Any() != nil {
			rep.err = e.String()
		}
		h.tr.reports[node] = append(h.tr.reports[node], rep)
	}
	return nil
}

// profileEvent writes a CPU profile of the event, from the loss until
// every record moved, to DETOUR_BENCH_EVENT_PROFILE (each trial's
// replaces the last); it returns the function that stops it.
func profileEvent(t testing.TB) func() {
	path := os.Getenv("DETOUR_BENCH_EVENT_PROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}
