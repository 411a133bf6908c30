package dnsserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed3787e6f1/detour/dnssec"
)

// Server defaults. The TCP limits keep one client from holding every
// connection slot (Knot DNS: tcp-idle-timeout, tcp-io-timeout).
const (
	DefaultTCPIdleTimeout   = 5 * time.Second
	DefaultTCPIOTimeout     = 500 * time.Millisecond
	DefaultMaxTCPConns      = 1024
	DefaultMaxTCPConnsPerIP = 16
)

// Config configures a Server.
type Config struct {
	// Addr is the UDP and TCP address to listen on, host:port.
	Addr string
	// UDPWorkers is the number of goroutines reading the UDP socket; 0
	// means GOMAXPROCS.
	UDPWorkers int
	// TCPIdleTimeout closes a TCP connection on which no query starts
	// for that long, from accept or from the last reply; 0 means 5s.
	TCPIdleTimeout time.Duration
	// TCPIOTimeout bounds reading the rest of a query once its first
	// bytes came, and writing each reply; 0 means 500ms.
	TCPIOTimeout time.Duration
	// MaxTCPConns bounds concurrent TCP connections; 0 means 1024.
	// A connection over it is closed at once, not queued.
	MaxTCPConns int
	// MaxTCPConnsPerIP bounds one client address's (IPv6: one /64's)
	// concurrent TCP connections; 0 means 16. Over it, closed at once.
	MaxTCPConnsPerIP int
	// JournalSize is how many serial changes per zone are kept for
	// IXFR; 0 means 100.
	JournalSize int
	// WatchInterval is how often the server looks for a new snapshot to
	// journal and NOTIFY secondaries of; 0 means 50ms. Only zones with
	// transfer settings cost anything.
	WatchInterval time.Duration
	// RRL limits the rate of UDP responses per client network; the zero
	// value is off. See RRLConfig.
	RRL RRLConfig
	// CookieSecret keys the server cookies (RFC 9018), 16 bytes; nil
	// picks a random secret at start (cookies then last until restart).
	CookieSecret []byte
	// Getenv reads TSIG secrets (named by the spec's secret_env); nil
	// means os.Getenv.
	Getenv func(string) string
	// PeerAllow lists networks NOTIFY may go to although refused by
	// default (spec.ForbiddenTarget: loopback, link-local, metadata...).
	PeerAllow []netip.Prefix
	// DNSSECKeys returns the node's DNSSEC keys (it is called again
	// every minute: a key directory may be reloaded behind it); nil
	// serves every zone unsigned. See dnssec.go.
	DNSSECKeys func() dnssec.Keyring
	Options
}

// Server is an authoritative DNS server on UDP and TCP.
type Server struct {
	cfg     Config
	handler *Handler
	logger  *slog.Logger

	journal *journal
	// journaled is the newest snapshot the journal has recorded:
	// transfers are served from it, so an IXFR never finds the zone a
	// change ahead of its journal (which would send the whole zone).
	journaled atomic.Pointer[Snapshot]
	xfrStats  transferStats
	ctx       context.Context // ends at Shutdown: NOTIFY retries stop
	cancel    context.CancelFunc

	udp *net.UDPConn
	tcp *net.TCPListener

	mu      sync.Mutex
	scratch []*Scratch
	// tcpScratch holds the counters of open TCP connections; closed
	// ones are folded into tcpDone.
	tcpScratch map[*Scratch]struct{}
	tcpDone    Totals
	tcpStreams sync.Pool // *tcpStream: buffers of closed connections
	conns      map[net.Conn]*tcpConn
	perIP      map[netip.Addr]int // open TCP connections by client (IPv6: /64)
	tcpShed    uint64             // TCP connections closed over a limit
	notify     *notifier          // created on the first NOTIFY
	closed     bool
	wg         sync.WaitGroup
}

// NewServer returns a server answering from src. Call Start to listen.
func NewServer(cfg Config, src Source, logger *slog.Logger) *Server {
	if cfg.UDPWorkers <= 0 {
		cfg.UDPWorkers = runtime.GOMAXPROCS(0)
	}
	if cfg.TCPIdleTimeout <= 0 {
		cfg.TCPIdleTimeout = DefaultTCPIdleTimeout
	}
	if cfg.TCPIOTimeout <= 0 {
		cfg.TCPIOTimeout = DefaultTCPIOTimeout
	}
	if cfg.MaxTCPConns <= 0 {
		cfg.MaxTCPConns = DefaultMaxTCPConns
	}
	if cfg.MaxTCPConnsPerIP <= 0 {
		cfg.MaxTCPConnsPerIP = DefaultMaxTCPConnsPerIP
	}
	if cfg.WatchInterval <= 0 {
		cfg.WatchInterval = DefaultWatchInterval
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		journal: newJournal(cfg.JournalSize),
		ctx:     ctx,
		cancel:  cancel,
		cfg:     cfg,
		handler: newSigningHandler(src, cfg, logger),
		logger:  logger,
		conns:   map[net.Conn]*tcpConn{},
		perIP:   map[netip.Addr]int{},

		tcpScratch: map[*Scratch]struct{}{},
	}
	s.handler.tsig = s.queryTSIG
	return s
}

// Start binds UDP and TCP on the configured address and serves until
// Shutdown. With port 0, UDP and TCP share the port the kernel picks for
// UDP.
func (s *Server) Start() error {
	if err := s.abuseLimits(); err != nil {
		return err
	}
	ua, err := net.ResolveUDPAddr("udp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("dns: listen address %q: %w", s.cfg.Addr, err)
	}
	// With port 0 the kernel picks a UDP port that may be taken for TCP;
	// pick again rather than fail.
	for attempt := 0; ; attempt++ {
		s.udp, err = net.ListenUDP("udp", ua)
		if err != nil {
			return fmt.Errorf("dns: %w", err)
		}
		bound := s.udp.LocalAddr().(*net.UDPAddr)
		s.tcp, err = listenTCP(&net.TCPAddr{IP: bound.IP, Port: bound.Port, Zone: bound.Zone})
		if err == nil {
			break
		}
		s.udp.Close()
		if ua.Port != 0 || attempt == 10 {
			return fmt.Errorf("dns: %w", err)
		}
	}
	bound := s.udp.LocalAddr().(*net.UDPAddr)
	_ = s.udp.SetReadBuffer(4 << 20)
	_ = s.udp.SetWriteBuffer(4 << 20)
	tuneUDP(s.udp, s.handler.opts.MaxUDPSize, s.logger)
	for i := 0; i < s.cfg.UDPWorkers; i++ {
		sc := s.newScratch()
		s.wg.Add(1)
		go s.serveUDP(sc)
	}
	// The journal starts from the snapshot in force now, so that the
	// first change after Start is already incremental.
	first := s.handler.src.Answers()
	if first != nil {
		s.observe(nil, first)
	}
	s.wg.Add(2)
	go s.acceptTCP()
	go s.watch(first)
	if s.handler.sign != nil {
		s.wg.Add(1)
		go s.runSigning()
	}
	s.logger.Info("dns server listening", "addr", bound.String(), "udp_workers", s.cfg.UDPWorkers)
	return nil
}

// abuseLimits sets up DNS cookies and, when configured, rate limiting.
func (s *Server) abuseLimits() error {
	c, err := newCookies(s.cfg.CookieSecret)
	if err != nil {
		return err
	}
	s.handler.cookies = c
	if s.cfg.RRL.Rate == 0 {
		return nil
	}
	l, err := newLimiter(s.cfg.RRL)
	if err != nil {
		return err
	}
	s.handler.rrl = l
	return nil
}

// Addr returns the bound address (useful with port 0).
func (s *Server) Addr() string {
	if s.udp == nil {
		return s.cfg.Addr
	}
	return s.udp.LocalAddr().String()
}

func (s *Server) newScratch() *Scratch {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := NewScratch(uint64(time.Now().UnixNano()) + uint64(len(s.scratch))*0x9E3779B97F4A7C15)
	s.scratch = append(s.scratch, sc)
	return sc
}

// Shutdown stops listening, closes open TCP connections once their
// current reply is written, and waits for every goroutine, or for ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancel()
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		// Wake readers; a reply being written still completes.
		_ = c.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	if s.udp != nil {
		s.udp.Close()
	}
	if s.tcp != nil {
		s.tcp.Close()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats sums the reply counters of every UDP worker and TCP connection,
// open or closed.
func (s *Server) Stats() Totals {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tcpDone
	t.TCPShed = s.tcpShed
	if s.notify != nil {
		t.NotifiesRefused = s.notify.refused.Load() // s.mu is held: not through notifier()
	}
	for _, sc := range s.scratch {
		t.add(&sc.Stats)
	}
	for sc := range s.tcpScratch {
		t.add(&sc.Stats)
	}
	return t
}
