package controller

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/seed3787e6f1/detour/controller/nodeport"
	"github.com/seed3787e6f1/detour/internal/logging"
	"github.com/seed3787e6f1/detour/spec"
)

// Errors from the store. Check them with errors.Is.
var (
	// ErrNoLeader means no leader could be reached before the deadline.
	ErrNoLeader = errors.New("no leader reachable")
	// ErrRejected means the leader applied the command and refused it;
	// nothing changed.
	ErrRejected = errors.New("refused")
	// ErrClosed means the store was shut down.
	ErrClosed = errors.New("store closed")
	// ErrStorage means a node could not write its Raft log (a full or
	// failing disk); the write may succeed when retried, on another
	// node or later.
	ErrStorage = errors.New("storage failure")
	// ErrNotLeader means a leader-only decision was proposed on a node
	// that does not lead (any more); it is dropped, never forwarded.
	ErrNotLeader = errors.New("not the leader")
)

// Timing holds the Raft timeouts. The defaults suit a WAN between
// datacenters (design.md).
type Timing struct {
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	// StaleAfter is how long an observer may stay silent before the
	// leader stops counting its verdicts.
	StaleAfter time.Duration
	// ReportInterval is how often each observer reports even without a
	// change, proving it is alive.
	ReportInterval time.Duration
}

// DefaultTiming is for nodes in different datacenters, with round trips
// up to about 150 ms between them. Losing the leader's datacenter costs an
// election on top of detection: with 500 ms timeouts the failover
// benchmark (interval 1s, fall 2, 100 ms round trips) moves traffic within
// 2.7 s at p99; with 1 s timeouts, 4.8 s. Raise them on slower links.
// The leader lease is the heartbeat timeout: a new leader with one
// follower left stepped down when that follower, starved of CPU, took
// over 250 ms to answer, and another election followed (region-wide
// failover benchmark, issue 18). Reads never rely on the lease (ReadIndex
// commits a barrier), so a longer one only lets a leader cut off from
// the others lead a quarter second longer before it steps down.
var DefaultTiming = Timing{
	HeartbeatTimeout:   500 * time.Millisecond,
	ElectionTimeout:    500 * time.Millisecond,
	LeaderLeaseTimeout: 500 * time.Millisecond,
	CommitTimeout:      50 * time.Millisecond,
	StaleAfter:         4 * time.Second,
	ReportInterval:     1 * time.Second,
}

// WithDefaults fills zero fields from DefaultTiming.
func (t Timing) WithDefaults() Timing {
	d := DefaultTiming
	set := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&t.HeartbeatTimeout, d.HeartbeatTimeout)
	set(&t.ElectionTimeout, d.ElectionTimeout)
	set(&t.LeaderLeaseTimeout, d.LeaderLeaseTimeout)
	set(&t.CommitTimeout, d.CommitTimeout)
	set(&t.StaleAfter, d.StaleAfter)
	set(&t.ReportInterval, d.ReportInterval)
	return t
}

// Peer is an initial voter.
type Peer struct {
	ID      string
	Address string
}

// StoreConfig configures a Store.
type StoreConfig struct {
	NodeID     string
	Datacenter string
	// RaftAddr is where the node port listens and what peers dial.
	RaftAddr string
	APIAddr  string
	DNSAddr  string
	DataDir  string
	// Peers are the initial voters; a node with no state bootstraps with
	// them.
	Peers []Peer
	// TLS, when set, makes the node port mutual TLS.
	TLS *tls.Config
	// Listener and Dial replace the TCP defaults (tests inject faults).
	Listener net.Listener
	Dial     nodeport.DialFunc
	Timing   Timing
	// Seed is proposed by the first leader of a cluster without a spec.
	Seed   *spec.Spec
	Logger *slog.Logger
	// Now is this node's wall clock, nil meaning time.Now. It is read
	// only to start the cluster clock of a state that has none, and to
	// time heartbeats for the local health engine (see leaderClock);
	// tests skew it.
	Now func() time.Time

	// Halting and storage failures (see halt.go, logstore.go).
	//
	// SkipEntries are log indexes this node does not apply: the repair
	// of a replica halted at an entry it cannot apply.
	SkipEntries []uint64

	// For tests: see every command before it applies (panic to
	// simulate a failing apply), and wrap the log store (fail writes).
	ApplyHook    func(*Command)
	WrapLogStore func(raft.LogStore) raft.LogStore
	// GeoIP returns the SHA-256 of this node's geoip database (empty
	// without one), registered with the member record (geo).
	GeoIP func() string
}

// Store owns Raft: the log in raft-boltdb, the FSM, the node port, the
// leader's duties. It is rqlite's store in spirit.
type Store struct {
	cfg    StoreConfig
	logger *slog.Logger
	fsm    *FSM
	raft   *raft.Raft
	mux    *nodeport.Mux
	bolt   *raftboltdb.BoltStore
	logs   *logStore // the log store Raft writes to: bolt, watched
	trans  *raft.NetworkTransport
	prio   *priorityTransport // trans, as Raft sees it (prevote_priority.go)

	rpc rpcConn // kept connection to the leader, for forwarding

	clock      leaderClock // stamps commands while this node leads
	clockStart sync.Mutex  // one term start at a time

	health memberHealth // the leader's probes of the members (membership.go)

	nonce     string        // random, drawn at start, for command IDs
	proposals atomic.Uint64 // numbers command IDs

	// seed is cfg.Seed until the cluster holds a spec (see dropSeed).
	seed atomic.Pointer[spec.Spec]
	// seedOffer is the seed, inlined and marshalled, offered to this
	// replica's compile (seed_offer.go).
	seedOffer atomic.Pointer[offered]
	// seedInlined is the spec offered, held weakly (bigload_seed.go).
	seedInlined atomic.Pointer[weak.Pointer[spec.Spec]]
	// ownEncoded is this node's latest big proposal (bigload_stamp.go).
	ownEncoded ownEncoded
	// lead runs the leader tasks of each term (term.go); its drain
	// goroutine outlives Raft, its manager stops before Raft does.
	lead      *leadership
	leadStop  chan struct{}
	leadDone  chan struct{}
	drainStop chan struct{}
	drainDone chan struct{}

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	identity clusterIdentity // this node's cluster ID (clusterid.go)
}

// OpenStore starts Raft for this node. A node with no state bootstraps
// the cluster from cfg.Peers; a node with state rejoins with it.
func OpenStore(cfg StoreConfig) (*Store, error) {
	cfg.Timing = cfg.Timing.WithDefaults()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.DataDir, privateDir); err != nil {
		return nil, fmt.Errorf("controller: data dir: %w", err)
	}
	s := &Store{cfg: cfg, logger: cfg.Logger, fsm: NewFSM(cfg.Logger), nonce: strconv.FormatUint(rand.Uint64(), 36)}
	s.fsm.hooks = FSMHooks{Skip: cfg.SkipEntries, BeforeApply: cfg.ApplyHook, Now: cfg.Now}
	s.seed.Store(cfg.Seed)
	s.offerSeed()
	s.lead = newLeadership(cfg.Logger, s.openTerm)
	s.registerLeaderDuties()
	ok := false
	defer func() {
		if !ok {
			s.stopLeaderTasks()
			if s.raft != nil {
				_ = s.raft.Shutdown().Error()
			}
			s.stopDraining()
			s.closeResources()
		}
	}()
	var err error
	if s.bolt, err = raftboltdb.NewBoltStore(filepath.Join(cfg.DataDir, "raft.db")); err != nil {
		return nil, fmt.Errorf("controller: raft log: %w", err)
	}
	s.logs = &logStore{LogStore: s.bolt}
	if cfg.WrapLogStore != nil {
		s.logs.LogStore = cfg.WrapLogStore(s.bolt)
	}
	hlog := logging.Hclog(cfg.Logger.With("component", "raft"), logging.HclogOptions{Quiet: logging.RaftQuiet()})
	fileSnaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, 2, hlog)
	if err != nil {
		return nil, fmt.Errorf("controller: snapshots: %w", err)
	}
	// Once, after the log and snapshot stores made what they make: a data
	// dir from before, or a snapshot dir just created, becomes private.
	if err := tighten(cfg.DataDir); err != nil {
		return nil, err
	}
	snapDir := filepath.Join(cfg.DataDir, "snapshots")
	snaps := privateSnapshots{SnapshotStore: fileSnaps, dir: snapDir}
	ln := cfg.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.RaftAddr); err != nil {
			return nil, fmt.Errorf("controller: node port: %w", err)
		}
	}
	var rf atomic.Pointer[raft.Raft] // for the mux, which starts first
	s.mux = nodeport.NewMux(ln, cfg.TLS, membersOf(&rf, cfg.Peers), cfg.Dial, cfg.Logger.With("component", "node-port"))
	s.mux.SetClusterID(s.identity.get)
	s.mux.KeepSpares(raft.ServerID(cfg.NodeID))
	adv, err := net.ResolveTCPAddr("tcp", cfg.RaftAddr)
	if err != nil || adv.Port == 0 {
		adv, _ = ln.Addr().(*net.TCPAddr)
	}
	s.cfg.RaftAddr = adv.String()
	s.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  s.mux.RaftLayer(adv),
		MaxPool: 3,
		Timeout: 10 * time.Second,
		Logger:  hlog,
		// No pipelined replication: when a follower answers an append
		// with failure (its disk is full), hashicorp/raft 1.7's pipeline
		// can deadlock, so the follower never gets another entry and
		// the leader hangs at shutdown. Synchronous appends cost little
		// at detour's write rates (raft#541).
		MaxRPCsInFlight: 1,
	})
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.HeartbeatTimeout = cfg.Timing.HeartbeatTimeout
	rc.ElectionTimeout = cfg.Timing.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.Timing.LeaderLeaseTimeout
	rc.CommitTimeout = cfg.Timing.CommitTimeout
	rc.SnapshotThreshold = 2048
	rc.TrailingLogs = 4096
	rc.Logger = hlog
	rc.NotifyCh = s.lead.notify
	existing, err := raft.HasExistingState(s.bolt, s.bolt, snaps)
	if err != nil {
		return nil, fmt.Errorf("controller: reading raft state: %w", err)
	}
	peerCluster, err := s.checkDataDir(existing, snaps)
	if err != nil {
		return nil, err
	}
	prio := newPriorityTransport(s.trans, rc.LocalID)
	s.prio = prio
	if s.raft, err = raft.NewRaft(rc, s.fsm, s.logs, s.bolt, snaps, prio); err != nil {
		return nil, fmt.Errorf("controller: raft: %w", err)
	}
	rf.Store(s.raft)
	prio.watch(s.raft)
	s.logs.setOnStall(s.standAside)
	s.startLeadership()
	if existing {
		s.replayCommitted(snaps)
		s.awaitAnswers()
	}
	listed := len(cfg.Peers) == 0 // a cluster of one
	for _, p := range cfg.Peers {
		listed = listed || p.ID == cfg.NodeID
	}
	switch {
	case !existing && listed && peerCluster != "":
		// A fresh node among the initial voters of a cluster that
		// already runs (a replaced disk, a node file kept from the
		// start): its leader brings this node up to date.
		s.logger.Info("found the configured peers' cluster: waiting for its leader to bring this node up to date (not bootstrapping); "+
			"if this node is not a member yet, run `detour members add "+cfg.NodeID+"@"+s.cfg.RaftAddr+"` against a member", "cluster_id", peerCluster)
	case !existing && listed:
		var servers []raft.Server
		for _, p := range cfg.Peers {
			servers = append(servers, raft.Server{ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Address), Suffrage: raft.Voter})
		}
		if len(servers) == 0 {
			servers = []raft.Server{{ID: rc.LocalID, Address: raft.ServerAddress(s.cfg.RaftAddr), Suffrage: raft.Voter}}
		}
		if err := s.bootstrapIdentity(servers); err != nil {
			return nil, err
		}
		if err := s.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return nil, fmt.Errorf("controller: bootstrap: %w", err)
		}
		s.logger.Info("bootstrapped a new cluster", "voters", len(servers), "cluster_id", orUnknown(s.identity.get()))
	case !existing:
		// Not among the initial voters: join an existing cluster once
		// a member adds this node.
		s.logger.Info("waiting to be added to the cluster: run `detour members add " + cfg.NodeID + "@" + s.cfg.RaftAddr + "` against a member (add --nonvoter for a DNS-only replica)")
	default:
		s.logger.Info("rejoining with existing state", "data_dir", cfg.DataDir)
	}
	s.mux.Serve(s.serveRPC)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		s.duties(ctx)
	}()
	go func() {
		defer s.wg.Done()
		s.noteApplied(ctx)
	}()
	go func() {
		defer s.wg.Done()
		s.keepClusterID(ctx)
	}()
	ok = true
	return s, nil
}

// appliedFile holds the index of the last entry this node applied, for
// replayCommitted after a crash.
const appliedFile = "applied-index"

// noteApplied writes the index and term of the last entry applied to
// appliedFile four times a second while they move, and once more when
// ctx ends. It is not synced to disk: a process crash keeps it, and after
// a power loss replay only goes less far.
func (s *Store) noteApplied(ctx context.Context) {
	path := filepath.Join(s.cfg.DataDir, appliedFile)
	var written uint64
	write := func() {
		index, term := s.fsm.applied()
		if index == written {
			return
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, fmt.Appendf(nil, "%d %d\n", index, term), 0o600); err != nil {
			s.logger.Warn("noting the applied index", "err", err)
			return
		}
		if err := os.Rename(tmp, path); err != nil {
			s.logger.Warn("noting the applied index", "err", err)
			return
		}
		written = index
	}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			write()
			return
		case <-t.C:
			write()
		}
	}
}

// replayCommitted applies the log entries this node had applied before it
// stopped, past its latest snapshot. The FSM applies only committed
// entries, so these are committed: the node answers from where it left
// off even when no leader is reachable to tell Raft the commit index
// (hashicorp/raft v1.7 neither keeps the commit index nor replays on
// start). Raft hands the same entries over again once it learns the
// commit index; the FSM skips what it has. The note names the term of
// its last entry: a log that has another entry there (wiped and begun
// again) is not replayed.
func (s *Store) replayCommitted(snaps raft.SnapshotStore) {
	data, err := os.ReadFile(filepath.Join(s.cfg.DataDir, appliedFile))
	if err != nil {
		return
	}
	var last, term uint64
	if _, err := fmt.Sscanf(string(data), "%d %d", &last, &term); err != nil {
		s.logger.Warn("unreadable applied-index note; not replaying", "err", err)
		return
	}
	from := uint64(0)
	if list, _ := snaps.List(); len(list) > 0 {
		from = list[0].Index // the restored snapshot holds everything up to it
	}
	n, err := s.fsm.replay(from, last, term, s.bolt.GetLog)
	if err != nil {
		s.logger.Warn("replaying the entries applied before the last stop: stopped", "applied", n, "err", err)
	}
	if n > 0 {
		s.logger.Info("replayed the entries applied before the last stop", "entries", n, "up_to", last)
	}
}

// startAnswersWait bounds how long a restarting node waits for the
// answers of its restored state before it goes on (a zone of a million
// names takes seconds to build).
const startAnswersWait = time.Minute

// awaitAnswers waits until the DNS answers of the state restored and
// replayed are built, so that the node serves where it left off from
// the start rather than nothing.
func (s *Store) awaitAnswers() {
	ctx, cancel := context.WithTimeout(context.Background(), startAnswersWait)
	defer cancel()
	if err := s.fsm.WaitApplied(ctx, s.fsm.AppliedIndex()); err != nil {
		s.logger.Warn("starting before the answers of the restored state are built", "err", err)
	}
}

// FSM returns the state machine, for reads and answers.
func (s *Store) FSM() *FSM { return s.fsm }

// ID is this node's ID.
func (s *Store) ID() string { return s.cfg.NodeID }

// Addr is the node port's advertised address.
func (s *Store) Addr() string { return s.cfg.RaftAddr }

// IsLeader reports whether this node leads.
func (s *Store) IsLeader() bool { return s.raft.State() == raft.Leader }

// Leader returns the leader's ID and address, empty when unknown.
func (s *Store) Leader() (id, addr string) {
	a, i := s.raft.LeaderWithID()
	return string(i), string(a)
}

// RaftState returns this node's Raft state and the age of the last contact
// with a leader (zero on the leader).
func (s *Store) RaftState() (state string, lastContact time.Duration) {
	st := s.raft.State()
	if st == raft.Leader {
		return st.String(), 0
	}
	lc := s.raft.LastContact()
	if lc.IsZero() {
		return st.String(), -1
	}
	return st.String(), time.Since(lc)
}

// AppliedIndex is the index of the last entry applied to the FSM. Raft
// counts entries a halted FSM refused as applied; they are not.
func (s *Store) AppliedIndex() uint64 {
	if s.fsm.Halted() != nil {
		return s.fsm.AppliedIndex()
	}
	return max(s.raft.AppliedIndex(), s.fsm.AppliedIndex())
}

// Propose commits a command through the leader, forwarding from a follower,
// and retries across leader changes until ctx ends. It returns what the
// command did: its log index (wait for it with WaitApplied to read the
// change on this node) and what it produced; a once-only command that
// reached the log twice answers with the first copy's result. A command
// the state machine refuses returns an error wrapping ErrRejected.
func (s *Store) Propose(ctx context.Context, c *Command) (Result, error) {
	if err := s.Problem(); err != nil {
		// Its view is stale and it would report or echo from it.
		return Result{}, err
	}
	cc := *c // the caller's command stays as it was: proposing it again is a new command
	c = &cc
	var yaml []byte // a spec's text, before checkSpec may compress it
	if c.Spec != nil {
		yaml = c.Spec.YAML
	}
	offer, err := s.checkSpec(c)
	if err != nil {
		s.fsm.withdraw(offer)
		return Result{}, err
	}
	// The leader stamps its own time over this (leaderClock); the
	// proposer's clock only serves a leader of an older version during
	// a rolling upgrade, as it did before.
	c.Time = s.cfg.Now().UTC()
	if c.ID == "" && c.Type.OnceOnly() {
		c.ID = s.commandID()
	}
	data, err := c.Encode()
	if err != nil {
		return Result{}, err
	}
	s.ownEncoded.keep(data)
	defer s.ownEncoded.take(data) // forwarded, not stamped here: not kept
	req := rpcRequest{Op: opApply, Data: data}
	if c.Type.LeaderOnly() {
		// Made from this node's own view as leader: once it no longer
		// leads, that view may be stale, and the new leader decides
		// from its own.
		if !s.IsLeader() {
			return Result{}, fmt.Errorf("%w: %s is decided by the leader alone", ErrNotLeader, c.Type)
		}
		_, res, err := s.local(req)
		return res, err
	}
	res, err := s.onLeader(ctx, req)
	if err != nil {
		s.fsm.withdraw(offer) // a parsed spec can be big: not kept for nothing
		return res, err
	}
	if c.Type == CmdSetSpec && c.Spec != nil {
		// In force here before the caller reads it (stage.go): the
		// result is the activation's, not the staging's.
		if res.StagedAt != 0 {
			// The version this command made, once its own staging
			// entry was activated here (spec_await.go).
			return s.awaitStaged(ctx, res)
		}
		if err := s.awaitSpec(ctx, c.Spec, yaml); err != nil {
			return res, err
		}
		v := s.fsm.View()
		res.Index, res.SpecVersion = max(res.Index, v.Index()), v.SpecVersion()
	}
	return res, nil
}

// Problem says why this node should not be counted on (it reports not
// ready and refuses writes), or nil: its state machine halted at an
// entry it cannot apply, or its Raft log cannot be written. It keeps
// serving its last DNS answers either way.
func (s *Store) Problem() error {
	if h := s.fsm.Halted(); h != nil {
		return h.err()
	}
	return s.LogProblem()
}

// LogProblem says why this node cannot write its Raft log, or nil.
func (s *Store) LogProblem() error { return s.logs.failing() }

// LogStoreErrors counts the writes to the Raft log that failed.
func (s *Store) LogStoreErrors() uint64 { return s.logs.failures.Load() }

// commandID returns an ID no other proposal of any node has: this node's
// ID, a random number drawn at start and a counter.
func (s *Store) commandID() string {
	return fmt.Sprintf("%s-%s-%d", s.cfg.NodeID, s.nonce, s.proposals.Add(1))
}

// WaitLeader waits until some leader is known.
func (s *Store) WaitLeader(ctx context.Context) error {
	for {
		if _, addr := s.Leader(); addr != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrNoLeader, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close leaves cleanly: stops the leader's duties, shuts Raft down and
// closes the log.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		if s.cancel != nil {
			s.cancel()
		}
		s.wg.Wait()
		s.stopLeaderTasks()
		if s.raft != nil {
			// A snapshot on the way out: a restart reads one state,
			// not a snapshot and a replay (replayCommitted covers
			// crashes).
			if serr := s.raft.Snapshot().Error(); serr != nil && !errors.Is(serr, raft.ErrNothingNewToSnapshot) {
				s.logger.Warn("snapshot at shutdown", "err", serr)
			}
			err = s.raft.Shutdown().Error()
		}
		s.stopDraining()
		s.closeResources()
	})
	return err
}

// handlersGrace bounds how long Close waits for the node port's
// connection handlers (a request in progress) before closing the log
// store under them.
const handlersGrace = 5 * time.Second

func (s *Store) closeResources() {
	s.fsm.Close() // Raft is down: nothing applies any more
	s.rpc.mu.Lock()
	s.rpc.drop()
	s.rpc.mu.Unlock()
	switch {
	case s.prio != nil:
		s.prio.Close() // and trans under it
	case s.trans != nil:
		s.trans.Close()
	}
	if s.mux != nil {
		s.mux.Close()
		if !s.mux.WaitHandlers(handlersGrace) {
			s.logger.Warn("node port: a connection handler did not return; closing the log store anyway")
		}
	}
	if s.bolt != nil {
		s.bolt.Close()
	}
}
