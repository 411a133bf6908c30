package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/health"
)

// Minority modes: what a node cut off from the leader answers.
const (
	// MinorityLocal answers from this node's own health view, the way
	// a lone server would: the spec's policy over its own verdicts.
	MinorityLocal = "local"
	// MinorityLast keeps answering the cluster's last answers.
	MinorityLast = "last"
	// MinorityServfail answers SERVFAIL, so resolvers ask another
	// nameserver.
	MinorityServfail = "servfail"
)

// ValidMinorityMode reports whether mode names a minority mode (empty is
// the default, local).
func ValidMinorityMode(mode string) bool {
	switch mode {
	case "", MinorityLocal, MinorityLast, MinorityServfail:
		return true
	}
	return false
}

// minorityTick is how often a node judges whether it is cut off.
const minorityTick = 100 * time.Millisecond

// caughtUpTimeout bounds the call that asks the leader how far it has
// applied: a new TLS connection and one exchange, three round trips, so
// it must allow WAN round trips (and a lost SYN's retransmission), or a
// node far from the leader never leaves minority mode.
const caughtUpTimeout = 3 * time.Second

// MinorityOptions configure a node's minority mode.
type MinorityOptions struct {
	// After is how long without leader contact makes the node cut off;
	// zero takes the store's observer staleness time.
	After time.Duration
	// Mode is MinorityLocal (default), MinorityLast or MinorityServfail.
	Mode string
	// Engine is this node's health engine, for MinorityLocal.
	Engine *health.Engine
	// Registerer receives the minority metrics; nil registers none.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// MinorityStatus says whether this node is cut off from the cluster's
// leader and what it answers meanwhile.
type MinorityStatus struct {
	CutOff bool   `json:"cut_off"`
	Mode   string `json:"mode"`
	// Since is when the node was cut off.
	Since time.Time `json:"since,omitzero"`
	// After is how long without contact cuts a node off.
	After   string `json:"after"`
	Message string `json:"message,omitempty"`
	// Answers are what this node's DNS server answers while cut off in
	// minority_mode local: the records evaluated over its own health
	// checks. The rest of the status is the cluster's last replicated
	// view, which these may contradict.
	Answers []Decision `json:"answers,omitempty"`
}

// Minority watches a node's contact with the leader. Once it had none
// for longer than After, the node is cut off: it reports not ready,
// says so, and answers by its mode. It is back once the leader is in
// contact and this node has applied what the leader had applied.
type Minority struct {
	store   *Store
	opts    MinorityOptions
	started time.Time

	cut   atomic.Bool
	mu    sync.Mutex
	since time.Time
	local atomic.Pointer[dnsserver.Snapshot] // answers in MinorityLocal
	last  []Decision                         // the local decisions published

	entered prometheus.Counter
	rebuilt prometheus.Counter

	// The pause detector (pause.go).
	lastTick atomic.Int64 // sinceStart at the last tick, 0 before the first
	stale    atomic.Bool  // paused and not caught up since
	resumed  time.Time    // when the pause was noticed; under mu
	pauses   int          // pauses noticed; under mu
	paused   prometheus.Counter
}

// NewMinority returns the minority watcher of store; Run drives it.
func NewMinority(store *Store, opts MinorityOptions) (*Minority, error) {
	if opts.After <= 0 {
		opts.After = store.cfg.Timing.StaleAfter
	}
	if opts.Mode == "" {
		opts.Mode = MinorityLocal
	}
	if !ValidMinorityMode(opts.Mode) {
		return nil, fmt.Errorf("minority_mode %q: want local, last or servfail", opts.Mode)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Minority{store: store, opts: opts, started: time.Now()}
	m.entered = prometheus.NewCounter(prometheus.CounterOpts{Name: "detour_minority_entered_total",
		Help: "Times this node was cut off from the cluster's leader for longer than minority_after."})
	m.rebuilt = prometheus.NewCounter(prometheus.CounterOpts{Name: "detour_minority_local_answers_total",
		Help: "Answer sets this node built from its own health view while cut off (minority_mode local)."})
	m.paused = prometheus.NewCounter(prometheus.CounterOpts{Name: "detour_paused_total",
		Help: "Times this node noticed it had not run for a while (a paused VM or process) and answered SERVFAIL until it caught up."})
	gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "detour_minority_mode",
		Help: "1 while this node is cut off from the cluster's leader (see minority_mode), else 0."},
		func() float64 {
			if m.cut.Load() {
				return 1
			}
			return 0
		})
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{m.entered, m.rebuilt, m.paused, gauge} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("minority metrics: %w", err)
			}
		}
	}
	return m, nil
}

// Status says whether the node is cut off.
func (m *Minority) Status() MinorityStatus {
	if m == nil {
		return MinorityStatus{}
	}
	st := MinorityStatus{CutOff: m.cut.Load(), Mode: m.opts.Mode, After: m.opts.After.String()}
	if !st.CutOff {
		return st
	}
	m.mu.Lock()
	st.Since = m.since
	if m.opts.Mode == MinorityLocal {
		st.Answers = slices.Clone(m.last)
	}
	m.mu.Unlock()
	st.Message = fmt.Sprintf("this node is cut off from the cluster's leader (no contact for over %s, since %s); information may be out of date; DNS: %s",
		m.opts.After, st.Since.UTC().Format(time.RFC3339), m.modeText())
	return st
}

func (m *Minority) modeText() string {
	switch m.opts.Mode {
	case MinorityLast:
		return "the cluster's last answers (minority_mode last)"
	case MinorityServfail:
		return "SERVFAIL, so resolvers ask another nameserver (minority_mode servfail)"
	}
	return "answers from this node's own health checks (minority_mode local)"
}

// CutOff reports whether the node is cut off.
func (m *Minority) CutOff() bool { return m != nil && m.cut.Load() }

// Answers returns what the DNS server answers instead of the cluster's
// answers while cut off: override is false when the cluster's answers
// stand (in contact, or mode last); snap is nil for SERVFAIL.
func (m *Minority) Answers() (snap *dnsserver.Snapshot, override bool) {
	if m.pausedNow() {
		return nil, true // SERVFAIL: state older than a pause (pause.go)
	}
	if m == nil || !m.cut.Load() {
		return nil, false
	}
	switch m.opts.Mode {
	case MinorityServfail:
		return nil, true
	case MinorityLocal:
		if s := m.local.Load(); s != nil {
			return s, true
		}
	}
	return nil, false
}

// ServFail reports whether the DNS server should answer SERVFAIL.
func (m *Minority) ServFail() bool {
	return m.pausedNow() || m != nil && m.cut.Load() && m.opts.Mode == MinorityServfail
}

// Run judges contact every tick until ctx ends. The pause detector
// ticks on a goroutine of its own: a tick that waits for the leader
// (caughtUp, up to caughtUpTimeout) is no pause.
func (m *Minority) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() {
		every(ctx, minorityTick, func() bool {
			m.notePause()
			return true
		})
	})
	every(ctx, minorityTick, func() bool {
		m.step(ctx)
		return true
	})
	wg.Wait()
}

func (m *Minority) step(ctx context.Context) {
	m.notePause() // first, so that a tick right after a pause judges as paused
	inContact := m.inContact()
	switch {
	case !m.cut.Load() && !inContact:
		m.enter()
	case m.cut.Load() && inContact && m.caughtUp(ctx):
		m.leave()
	}
	m.endPause(ctx, inContact)
	if m.cut.Load() && m.opts.Mode == MinorityLocal {
		m.rebuild()
	}
}

// inContact reports whether this node leads or heard from a leader
// within After (a node that never heard from one gets After from its
// start).
func (m *Minority) inContact() bool {
	if m.storageStalled() {
		return false // it hears the leader but cannot follow it (storage_stall.go)
	}
	state, lc := m.store.RaftState()
	if state == "Leader" {
		return true
	}
	if lc < 0 {
		return time.Since(m.started) <= m.opts.After
	}
	return lc <= m.opts.After
}

// caughtUp asks the leader how far it has applied: this node is back
// once it has applied (and published) as much, so it never answers from
// a replica that is still catching up. It waits for that index, within
// caughtUpTimeout, rather than comparing at once: a leader that commits
// all the time is always a little ahead of what its followers applied
// when its reply arrives, which would keep a follower out for good.
func (m *Minority) caughtUp(ctx context.Context) bool {
	id, addr := m.store.Leader()
	if addr == "" {
		return false
	}
	if id == m.store.ID() {
		return true
	}
	cctx, cancel := context.WithTimeout(ctx, caughtUpTimeout)
	defer cancel()
	resp, err := m.store.call(cctx, id, addr, rpcRequest{Op: opStats})
	if err != nil || resp.Data == nil {
		return false
	}
	var st NodeStats
	if err := json.Unmarshal(resp.Data, &st); err != nil {
		return false
	}
	return m.awaitApplied(cctx, st.AppliedIndex) == nil
}

// awaitApplied waits until this node has applied index (Raft's count,
// which takes in the entries the FSM never sees: a term's no-op, a
// barrier) and built the answers of what its FSM applied.
func (m *Minority) awaitApplied(ctx context.Context, index uint64) error {
	for m.store.AppliedIndex() < index {
		select {
		case <-ctx.Done():
			return fmt.Errorf("applied %d of %d: %w", m.store.AppliedIndex(), index, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return m.store.fsm.WaitApplied(ctx, m.store.fsm.AppliedIndex())
}

func (m *Minority) enter() {
	m.mu.Lock()
	m.since = time.Now()
	m.last = nil
	m.mu.Unlock()
	m.local.Store(nil)
	if m.opts.Mode == MinorityLocal {
		m.rebuild()
	}
	m.cut.Store(true)
	m.entered.Inc()
	_, lc := m.store.RaftState()
	m.opts.Logger.Warn("cut off from the cluster's leader: not ready, answering by minority_mode until contact returns",
		"mode", m.opts.Mode, "minority_after", m.opts.After, "last_contact", lc.Round(time.Millisecond))
}

func (m *Minority) leave() {
	m.cut.Store(false)
	m.local.Store(nil)
	m.mu.Lock()
	since := m.since
	m.mu.Unlock()
	m.opts.Logger.Info("contact with the leader is back and this node has caught up: serving the cluster's answers",
		"cut_off_for", time.Since(since).Round(time.Millisecond))
}

// rebuild evaluates the spec with this node's own verdicts (the
// cluster's drains and pins still apply) and publishes the answers when
// they changed.
func (m *Minority) rebuild() {
	if m.opts.Engine == nil {
		return
	}
	local := localHealth{}
	for _, v := range m.opts.Engine.View() {
		h := EndpointHealth{}
		switch v.Verdict {
		case health.Up:
			h = EndpointHealth{Known: true, Up: true}
		case health.Down:
			h = EndpointHealth{Known: true, Up: false, Reason: "this node's own check (cut off): " + v.LastReason}
		}
		local[v.Target.Pool+"/"+v.Target.Address] = h
	}
	// The spec and zones the answers were last built from, and the
	// drains and pins in force.
	pub := m.store.fsm.pub.current()
	sp, zs := pub.spec, pub.zones
	if sp == nil || zs == nil {
		return
	}
	ds, cluster := m.store.fsm.View().DecideWith(sp, local), pub.decisions
	m.mu.Lock()
	same := m.last != nil && sameDecisions(m.last, ds)
	m.mu.Unlock()
	if same && m.local.Load() != nil {
		return
	}
	snap, err := dnsserver.Build(zs, DynamicAnswers(ds), m.store.fsm.Answers(), time.Now())
	if err != nil {
		m.opts.Logger.Error("cut off: building answers from this node's own health view", "err", err)
		return
	}
	m.mu.Lock()
	m.last = ds
	m.mu.Unlock()
	m.local.Store(snap)
	m.rebuilt.Inc()
	var moved []string
	for i, d := range ds {
		if i < len(cluster) && !cluster[i].SameAnswer(d) {
			moved = append(moved, fmt.Sprintf("%s %s: %s (cluster's last: %s)", d.Name, d.Type, d.Phrase(), cluster[i].Phrase()))
		}
	}
	differs := strings.Join(moved, "; ")
	if differs == "" {
		differs = "nothing: the same answers as the cluster's last"
	}
	m.opts.Logger.Warn("cut off: answering from this node's own health view", "differs_from_cluster", differs)
}

// localHealth is this node's own verdicts, by pool/address.
type localHealth map[string]EndpointHealth

// Endpoint implements Health.
func (l localHealth) Endpoint(pool, addr string) EndpointHealth { return l[pool+"/"+addr] }
