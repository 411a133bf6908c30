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
	"github.com/seed3787e6f1/detour/internal/buildinfo"
	"github.com/seed3787e6f1/detour/internal/geoip"
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
	// stops stops what start started, in reverse.
	stops stoppers
	// notifier sends notifications while this node leads; status serves
	// the status page from the local state (nil without --status-addr).
	notifier *notify.Notifier
	status   *statuspage.Server

	providers *providers.Manager
	minority  *controller.Minority
	// geo places DNS clients for geo records (geoip.go).
	geo *geoip.DB
}

// Start loads the seed spec and starts the node in dependency order: the
// DNS server, the store (Raft) it answers from, the health engine, the
// API and status page, then the checks and reports. Each component
// registers its stopper as it starts; Close (or a failed start) runs them
// in reverse.
func Start(cfg Config, logger *slog.Logger) (*Node, error) {
	if cfg.Dev {
		cfg.ApplyDevDefaults()
	}
	// Every setting and file first, every problem at once: nothing
	// starts (Raft above all) on settings that cannot work.
	files, err := cfg.preflight(logger)
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, logger: logger}
	if err := n.start(files); err != nil {
		_ = n.stops.stop(context.Background())
		return nil, err
	}
	logger.Info("node started", "node_id", cfg.NodeID, "datacenter", cfg.Datacenter,
		"raft", n.store.Addr(), "dns", n.dns.Addr(), "api", n.api.Addr(), "data_dir", n.cfg.DataDir)
	return n, nil
}

// start starts every component, registering each one's stopper.
func (n *Node) start(files *loaded) error {
	if n.cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "detour-dev-")
		if err != nil {
			return err
		}
		n.cfg.DataDir = dir
		n.stops.add("dev data dir", func(context.Context) error { return os.RemoveAll(dir) })
	}
	// The DNS listener comes first so that the address registered with
	// the cluster is the bound one.
	if err := n.startDNS(); err != nil {
		return err
	}
	if err := n.startStore(files.seed, files.tls); err != nil {
		return err
	}
	n.startGeoIP()
	// One registry per node, never the global one: /metrics shows this
	// node only, and tests run many nodes in one process.
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildinfo.Read().Collector())
	if err := n.newChecks(registry); err != nil {
		return err
	}
	if err := n.startAPI(files, registry); err != nil {
		return err
	}
	registry.MustRegister(newOpsMetrics(n, files.tls)) // alerting rules' metrics (ops)
	// The members' clock skew, on the leader (clockskew.go).
	registry.MustRegister(controller.NewClockSkewCollector(n.store))
	if err := n.startStatus(); err != nil {
		return err
	}
	n.startRun(files.seed)
	return nil
}

func (n *Node) startDNS() error {
	cfg := n.cfg
	dnsCfg := cfg.DNSLimits.server(cfg.DNSAddr, cfg.Dev)
	dnsCfg.Getenv = specEnv(cfg.envPolicy(), spec.EnvProvider, n.logger)
	dnsCfg.NSID = cfg.nsid()
	dnsCfg.PeerAllow, _ = cfg.dnsPeerAllowNetworks() // Validate parsed them
	dnsCfg.Geo = n.newGeoIP()
	if err := n.dnssecKeys(&dnsCfg); err != nil {
		return err
	}
	n.dns = dnsserver.NewServer(dnsCfg, &n.answers, n.logger.With("component", "dns"))
	if err := n.dns.Start(); err != nil {
		return err
	}
	n.stops.add("dns", n.dns.Shutdown)
	return nil
}

func (n *Node) startStore(seed *spec.Spec, tlsCfg *tls.Config) error {
	cfg := n.cfg
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
	var err error
	n.store, err = controller.OpenStore(controller.StoreConfig{
		NodeID: cfg.NodeID, Datacenter: cfg.Datacenter, RaftAddr: raftAddr,
		APIAddr: cfg.APIAddr, DNSAddr: n.dns.Addr(), DataDir: cfg.DataDir,
		Peers: ps, TLS: tlsCfg, Timing: cfg.timing(), Seed: seed, Listener: cfg.Listener, Dial: cfg.Dial,
		Logger: n.logger.With("component", "controller"),
		Now:    cfg.Now, SkipEntries: cfg.SkipEntries, ApplyHook: cfg.ApplyHook, WrapLogStore: cfg.WrapLogStore,
		GeoIP: func() string { return n.geo.Status().SHA256 },
	})
	if err != nil {
		return err
	}
	n.stops.add("store", func(context.Context) error { return n.store.Close() })
	n.answers.fsm.Store(n.store.FSM())
	return nil
}

// newChecks builds the observer, the health engine and the providers;
// startRun runs them.
func (n *Node) newChecks(registry *prometheus.Registry) error {
	cfg, logger := n.cfg, n.logger
	n.observer = controller.NewObserver(n.store, logger.With("component", "observer"))
	allow, _ := cfg.checkAllowNetworks() // Validate parsed them
	var err error
	if n.engine, err = health.New(logger.With("component", "health"), n.observer, health.Options{SourceIP: cfg.SourceIP, Registerer: registry, AllowNetworks: allow, Now: cfg.Now,
		Getenv: specEnv(cfg.envPolicy(), spec.EnvCheck, logger), Env: cfg.envPolicy()}); err != nil {
		return err
	}
	n.observer.SetEngine(n.engine)
	// Minority mode (members): what this node answers when cut off.
	if n.minority, err = controller.NewMinority(n.store, controller.MinorityOptions{After: cfg.MinorityAfter.D(), Mode: cfg.MinorityMode,
		Engine: n.engine, Registerer: registry, Logger: logger.With("component", "minority")}); err != nil {
		return err
	}
	n.answers.minority.Store(n.minority)
	if n.providers, err = newProviders(n.store, cfg, registry, logger); err != nil {
		return err
	}
	// A job's heartbeat reaches one node; the log tells every engine.
	n.store.FSM().OnHeartbeat(func(check, endpoint string, at time.Time) { _ = n.engine.Heartbeat(check, endpoint, at) })
	n.notifier = newNotifier(n.store, cfg, logger)
	// The leader's own work runs in its terms; the store stops it when
	// leadership is lost and before Raft shuts down.
	n.store.OnLeader("notify", n.notifier.Run)
	n.store.OnLeader("providers", n.providers.Run)
	n.store.OnLeader("provider-status", n.syncProviderStatus)
	return nil
}

func (n *Node) startAPI(files *loaded, registry *prometheus.Registry) error {
	cfg := n.cfg
	var err error
	n.api, err = api.New(api.Options{Store: n.store, Planner: n.providers, Beater: controller.NewBeats(n.store), DNSStats: n.dns.Stats, DNSTransfers: n.dns.Transfers, Registry: registry,
		Tokens: files.tokens, TLS: files.apiTLS, Logger: n.logger.With("component", "api"), Extra: cfg.APIExtra,
		Names: cfg.APINames, AuthFailures: cfg.APIAuthFailures, AuthWindow: cfg.APIAuthWindow.D(),
		Env: cfg.envPolicy(), SpecWait: cfg.APISpecWait.D(), Minority: n.minority, GeoIP: n.geo,
		MaxSpecUpload: cfg.MaxSpecUpload, DNSSEC: n.dns.DNSSECStatus})
	if err != nil {
		return err
	}
	if err := n.api.Start(cfg.APIAddr); err != nil {
		return fmt.Errorf("api: %w", err)
	}
	n.stops.add("api", n.api.Shutdown)
	return nil
}

func (n *Node) startStatus() error {
	cfg := n.cfg
	if cfg.StatusAddr == "" {
		return nil
	}
	n.status = statuspage.New(statuspage.Options{State: n.store.FSM(), Node: cfg.StatusNodeLabel, PublicURL: cfg.StatusURL,
		Logger: n.logger.With("component", "statuspage"), CutOff: n.minority.CutOff})
	if err := n.status.Start(cfg.StatusAddr); err != nil {
		return fmt.Errorf("status page: %w", err)
	}
	n.stops.add("status page", n.status.Shutdown)
	return nil
}

// startRun runs the checks, reports, providers and notifier until Close,
// and says whether the --spec file is the cluster's spec; the first thing
// Close does is to stop answering ready.
func (n *Node) startRun(seed *spec.Spec) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		seedDone := make(chan struct{})
		go func() {
			defer close(seedDone)
			n.reportSeed(ctx, seed)
		}()
		n.run(ctx)
		<-seedDone
	}()
	n.stops.add("checks and reports", func(stopCtx context.Context) error {
		cancel()
		select {
		case <-done:
			return nil
		case <-stopCtx.Done():
			return stopCtx.Err()
		}
	})
	n.stops.add("readiness", func(context.Context) error {
		n.api.SetReady(false)
		return nil
	})
}

// run drives the health engine and observer, and readiness: ready once a
// leader is known, the spec is in force and the first round of checks is
// done, so nothing is answered from a blind start.
func (n *Node) run(ctx context.Context) {
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
	minorityDone := make(chan struct{})
	go func() {
		defer close(minorityDone)
		n.minority.Run(ctx)
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

// Close stops the node: what it started, in reverse order (readiness
// off, checks and reports, status page, API, Raft leaving cleanly, DNS,
// then a dev data dir).
func (n *Node) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return n.stops.stop(ctx)
}

// newProviders wires the provider manager: it pushes the records' answers
// to the spec's providers while this node leads, with secrets read from
// this node's environment.
func newProviders(store *controller.Store, cfg Config, reg prometheus.Registerer, logger *slog.Logger) (*providers.Manager, error) {
	dnsPeers, _ := cfg.dnsPeerAllowNetworks() // Validate parsed them
	return providers.NewManager(providers.Options{Source: store.FSM(),
		Builders: builtin.Builders(dnsPeers), Registerer: reg, Logger: logger.With("component", "providers"),
		Getenv: specEnv(cfg.envPolicy(), spec.EnvProvider, logger),
		Access: providers.Access{Env: cfg.envPolicy(), BaseURLs: cfg.ProviderBaseURLs}})
}
