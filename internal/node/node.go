package node

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/examples"
	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/spec"
)

// Node is one running detour node.
type Node struct {
	cfg    Config
	logger *slog.Logger
	ctrl   *controller.Local
	dns    *dnsserver.Server
	api    *api.Server
	health *localHealth
	cancel context.CancelFunc
	done   chan struct{}
	tmpDir string
}

// Start loads the spec and starts the node's servers. Stop it with Close.
func Start(cfg Config, logger *slog.Logger) (*Node, error) {
	if cfg.Dev {
		cfg.ApplyDevDefaults()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, logger: logger}
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "detour-dev-")
		if err != nil {
			return nil, err
		}
		n.tmpDir, n.cfg.DataDir = dir, dir
	}
	ok := false
	defer func() {
		if !ok {
			n.Close(context.Background())
		}
	}()
	s, err := loadSpec(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Spec, err)
	}
	for _, p := range s.Lint() {
		logger.Warn("spec lint", "path", p.Path, "msg", p.Message)
	}
	if !cfg.Dev {
		logger.Warn("this build serves the spec from this node alone: clustering (--peers) and health checks come with the replicated controller")
	}
	if n.ctrl, err = controller.NewLocal(s, nil); err != nil {
		return nil, err
	}
	n.dns = dnsserver.NewServer(dnsserver.Config{Addr: cfg.DNSAddr}, n.ctrl, logger.With("component", "dns"))
	if err := n.dns.Start(); err != nil {
		return nil, err
	}
	if n.health, err = newLocalHealth(n.ctrl, logger.With("component", "health")); err != nil {
		return nil, err
	}
	n.health.engine.Update(s)
	n.api = api.New(n.ctrl, logger.With("component", "api"))
	if err := n.api.Start(cfg.APIAddr); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan struct{})
	go func() {
		defer close(n.done)
		go n.health.run(ctx)
		if err := n.health.engine.Run(ctx); err != nil {
			logger.Error("health engine", "err", err)
		}
	}()
	// Ready once every endpoint has been probed: nothing is answered
	// from a blind start longer than one round.
	go func() {
		select {
		case <-n.health.engine.FirstRoundDone():
			n.api.SetReady(true)
			logger.Info("first health round done: ready")
		case <-ctx.Done():
		}
	}()
	ok = true
	logger.Info("node started", "node_id", cfg.NodeID, "datacenter", cfg.Datacenter,
		"dns", n.dns.Addr(), "api", n.api.Addr(), "zones", n.dnsZones(), "spec", cfg.Spec)
	return n, nil
}

// loadSpec reads the node's spec; --dev without the dev spec on disk (the
// binary run outside the source tree) uses the copy built into the binary.
func loadSpec(cfg Config) (*spec.Spec, error) {
	if cfg.Dev && cfg.Spec == DevSpecPath {
		if _, err := os.Stat(cfg.Spec); err != nil {
			return spec.Parse(examples.DevSpec, "")
		}
	}
	return spec.Load(cfg.Spec)
}

func (n *Node) dnsZones() string {
	return strings.Join(n.ctrl.Answers().Zones(), ",")
}

// DNSAddr returns the DNS server's bound address.
func (n *Node) DNSAddr() string { return n.dns.Addr() }

// APIAddr returns the API server's bound address.
func (n *Node) APIAddr() string { return n.api.Addr() }

// Controller returns the node's controller.
func (n *Node) Controller() *controller.Local { return n.ctrl }

// Close stops the node in reverse order of start: readiness off, API, DNS;
// then removes a dev data dir.
func (n *Node) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if n.api != nil {
		n.api.SetReady(false)
		keep(n.api.Shutdown(ctx))
	}
	if n.dns != nil {
		keep(n.dns.Shutdown(ctx))
	}
	if n.cancel != nil {
		n.cancel()
		select {
		case <-n.done:
		case <-ctx.Done():
			keep(ctx.Err())
		}
	}
	if n.tmpDir != "" {
		keep(os.RemoveAll(n.tmpDir))
	}
	return firstErr
}
