package node

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/examples"
	"github.com/seed3787e6f1/detour/health"
	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/notify"
	"github.com/seed3787e6f1/detour/notify/statuspage"
	"github.com/seed3787e6f1/detour/providers"
	"github.com/seed3787e6f1/detour/providers/builtin"
	"github.com/seed3787e6f1/detour/spec"
)

// Node is one running detour node: Raft store, health engine and
// observer, DNS server, API.
type Node struct {
	cfg      Config
	logger   *slog.Logger
	store    *controller.Store
	engine   *health.Engine
	observer *controller.Observer
	dns      *dnsserver.Server
	api      *api.Server
	answers  answers
	cancel   context.CancelFunc
	done     chan struct{}
	tmpDir   string
	// notifier sends notifications while this node leads; status serves
	// the status page from the local state (nil without --status-addr).
	notifier *notify.Notifier
	status   *statuspage.Server

	providers *providers.Manager
	minority  *controller.Minority
}

// Start loads the seed spec and starts the node in dependency order: the
// store (Raft), the DNS server answering from it, the API, then the health
// engine and its reports.
func Start(cfg Config, logger *slog.Logger) (*Node, error) {
	if cfg.Dev {
		cfg.ApplyDevDefaults()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, logger: logger, done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			close(n.done)
			n.Close(context.Background())
		}
	}()
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "detour-dev-")
		if err != nil {
			return nil, err
		}
		n.tmpDir, n.cfg.DataDir = dir, dir
	}
	seed, err := loadSpec(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Spec, err)
	}
	for _, p := range seed.Lint() {
		logger.Warn("spec lint", "path", p.Path, "msg", p.Message)
	}
	var tlsCfg *tls.Config
	if cfg.hasTLS() {
		if tlsCfg, err = mutualTLS(cfg.TLSCA, cfg.TLSCert, cfg.TLSKey); err != nil {
			return nil, err
		}
	}
	raftAddr, peers := cfg.RaftAddr, cfg.Peers
	if cfg.Dev {
		if raftAddr == "" {
			raftAddr = "127.0.0.1:0"
		}
		peers = nil // a cluster of one
	}
	var ps []controller.Peer
	for _, p := range peers {
		ps = append(ps, controller.Peer{ID: p.ID, Address: p.Address})
	}
	// The DNS and API listeners come first so that the addresses
	// registered with the cluster are the bound ones.
	dnsCfg := cfg.DNSLimits.server(cfg.DNSAddr, cfg.Dev)
	dnsCfg.Getenv = specEnv(cfg.envPolicy(), spec.EnvProvider, logger)
	dnsCfg.NSID = cfg.nsid()
	dnsCfg.PeerAllow, _ = cfg.dnsPeerAllowNetworks() // Validate parsed them
	n.dns = dnsserver.NewServer(dnsCfg, &n.answers, logger.With("component", "dns"))
	if err := n.dns.Start(); err != nil {
		return nil, err
	}
	n.store, err = controller.OpenStore(controller.StoreConfig{
		NodeID: cfg.NodeID, Datacenter: cfg.Datacenter, RaftAddr: raftAddr,
		APIAddr: cfg.APIAddr, DNSAddr: n.dns.Addr(), DataDir: n.cfg.DataDir,
		Peers: ps, TLS: tlsCfg, Timing: cfg.timing(), Seed: seed, Listener: cfg.Listener, Dial: cfg.Dial,
		Logger: logger.With("component", "controller"),
		Now:    cfg.Now, SkipEntries: cfg.SkipEntries, ApplyHook: cfg.ApplyHook, WrapLogStore: cfg.WrapLogStore,
	})
	if err != nil {
		return nil, err
	}
	n.answers.fsm.Store(n.store.FSM())
	n.observer = controller.NewObserver(n.store, logger.With("component", "observer"))
	// One registry per node, never the global one: /metrics shows this
	// node only, and tests run many nodes in one process.
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	allow, _ := cfg.checkAllowNetworks() // Validate parsed them
	if n.engine, err = health.New(logger.With("component", "health"), n.observer, health.Options{SourceIP: cfg.SourceIP, Registerer: registry, AllowNetworks: allow, Now: cfg.Now,
		Getenv: specEnv(cfg.envPolicy(), spec.EnvCheck, logger), Env: cfg.envPolicy()}); err != nil {
		return nil, err
	}
	n.observer.SetEngine(n.engine)
	// Minority mode (members): what this node answers when cut off.
	if n.minority, err = controller.NewMinority(n.store, controller.MinorityOptions{After: cfg.MinorityAfter.D(), Mode: cfg.MinorityMode,
		Engine: n.engine, Registerer: registry, Logger: logger.With("component", "minority")}); err != nil {
		return nil, err
	}
	n.answers.minority.Store(n.minority)
	if n.providers, err = newProviders(n.store, cfg, registry, logger); err != nil {
		return nil, err
	}
	// A job's heartbeat reaches one node; the log tells every engine.
	n.store.FSM().OnHeartbeat(func(check, endpoint string, at time.Time) { _ = n.engine.Heartbeat(check, endpoint, at) })
	apiTLS, tokens, err := cfg.apiSecurity(tlsCfg)
	if err != nil {
		return nil, err
	}
	n.api, err = api.New(api.Options{Store: n.store, Planner: n.providers, Beater: controller.NewBeats(n.store), DNSStats: n.dns.Stats, DNSTransfers: n.dns.Transfers, Registry: registry,
		Tokens: tokens, TLS: apiTLS, Logger: logger.With("component", "api"), Extra: cfg.APIExtra,
		Names: cfg.APINames, AuthFailures: cfg.APIAuthFailures, AuthWindow: cfg.APIAuthWindow.D(),
		Env: cfg.envPolicy(), SpecWait: cfg.APISpecWait.D(), Minority: n.minority})
	if err != nil {
		return nil, err
	}
	if err := n.api.Start(cfg.APIAddr); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	n.notifier = newNotifier(n.store, cfg, logger)
	if cfg.StatusAddr != "" {
		n.status = statuspage.New(statuspage.Options{State: n.store.FSM(), Node: cfg.StatusNodeLabel, PublicURL: cfg.StatusURL,
			Logger: logger.With("component", "statuspage"), CutOff: n.minority.CutOff})
		if err := n.status.Start(cfg.StatusAddr); err != nil {
			return nil, fmt.Errorf("status page: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go n.run(ctx)
	ok = true
	logger.Info("node started", "node_id", cfg.NodeID, "datacenter", cfg.Datacenter,
		"raft", n.store.Addr(), "dns", n.dns.Addr(), "api", n.api.Addr(), "data_dir", n.cfg.DataDir)
	return n, nil
}

// run drives the health engine and observer, and readiness: ready once a
// leader is known, the spec is in force and the first round of checks is
// done, so nothing is answered from a blind start.
func (n *Node) run(ctx context.Context) {
	defer close(n.done)
	engineDone := make(chan struct{})
	go func() {
		defer close(engineDone)
		if err := n.engine.Run(ctx); err != nil {
			n.logger.Error("health engine", "err", err)
		}
	}()
	observerDone := make(chan struct{})
	go func() {
		defer close(observerDone)
		n.observer.Run(ctx)
	}()
	providersDone := make(chan struct{})
	go func() {
		defer close(providersDone)
		go n.syncProviderStatus(ctx)
		_ = n.providers.Run(ctx) // leader-only pushes to DNS providers
	}()
	minorityDone := make(chan struct{})
	go func() {
		defer close(minorityDone)
		n.minority.Run(ctx)
	}()
	notifierDone := make(chan struct{})
	go func() {
		defer close(notifierDone)
		_ = n.notifier.Run(ctx) // delivers only while this node leads
	}()
	select {
	case <-n.engine.FirstRoundDone():
		for ctx.Err() == nil && !n.readyNow() {
			time.Sleep(50 * time.Millisecond)
		}
		if ctx.Err() == nil {
			n.api.SetReady(true)
			n.logger.Info("ready: leader known, spec in force, first round of checks done")
		}
	case <-ctx.Done():
	}
	<-engineDone
	<-observerDone
	<-notifierDone
	<-providersDone
	<-minorityDone
}

func (n *Node) readyNow() bool {
	_, leader := n.store.Leader()
	return leader != "" && n.store.FSM().Answers() != nil
}

// answers lets the DNS server start before the store exists: until then
// it has nothing to answer from and refuses.
type answers struct {
	fsm      atomic.Pointer[controller.FSM]
	minority atomic.Pointer[controller.Minority]
}

func (a *answers) Answers() *dnsserver.Snapshot {
	if snap, ok := a.minority.Load().Answers(); ok {
		return snap // cut off: the minority mode's answers
	}
	if f := a.fsm.Load(); f != nil {
		return f.Answers()
	}
	return nil
}

// ServFail implements dnsserver.ServFailer: SERVFAIL while cut off in
// minority_mode servfail.
func (a *answers) ServFail() bool { return a.minority.Load().ServFail() }

// loadSpec reads the node's seed spec; --dev without the dev spec on disk
// (the binary run outside the source tree) uses the copy built into the
// binary.
func loadSpec(cfg Config) (*spec.Spec, error) {
	if cfg.Dev && cfg.Spec == DevSpecPath {
		if _, err := os.Stat(cfg.Spec); err != nil {
			return spec.Parse(examples.DevSpec)
		}
	}
	return spec.Load(cfg.Spec)
}

// DNSAddr returns the DNS server's bound address.
func (n *Node) DNSAddr() string { return n.dns.Addr() }

// APIAddr returns the API server's bound address.
func (n *Node) APIAddr() string { return n.api.Addr() }

// StatusAddr returns the status page's bound address, empty without one.
func (n *Node) StatusAddr() string {
	if n.status == nil {
		return ""
	}
	return n.status.Addr()
}

// Store returns the node's Raft store.
func (n *Node) Store() *controller.Store { return n.store }

// Close stops the node in reverse order: readiness off, API, health
// checks and reports, DNS, Raft (leaving cleanly), then a dev data dir.
func (n *Node) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if n.api != nil && n.api.Addr() != "" {
		n.api.SetReady(false)
		keep(n.api.Shutdown(ctx))
	}
	if n.status != nil {
		keep(n.status.Shutdown(ctx))
	}
	if n.cancel != nil {
		n.cancel()
	}
	select {
	case <-n.done:
	case <-ctx.Done():
		keep(ctx.Err())
	}
	if n.dns != nil {
		keep(n.dns.Shutdown(ctx))
	}
	if n.store != nil {
		keep(n.store.Close())
	}
	if n.tmpDir != "" {
		keep(os.RemoveAll(n.tmpDir))
	}
	return firstErr
}

// newProviders wires the provider manager: it pushes the records' answers
// to the spec's providers while this node leads, with secrets read from
// this node's environment.
func newProviders(store *controller.Store, cfg Config, reg prometheus.Registerer, logger *slog.Logger) (*providers.Manager, error) {
	dnsPeers, _ := cfg.dnsPeerAllowNetworks() // Validate parsed them
	return providers.NewManager(providers.Options{Leadership: store, Source: store.FSM(),
		Builders: builtin.Builders(dnsPeers), Registerer: reg, Logger: logger.With("component", "providers"),
		Getenv: specEnv(cfg.envPolicy(), spec.EnvProvider, logger),
		Access: providers.Access{Env: cfg.envPolicy(), BaseURLs: cfg.ProviderBaseURLs}})
}
