package dnsserver_test

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/spec"
)

// startServer serves specText with cfg (Addr and Getenv filled in).
func startServer(t testing.TB, specText string, cfg dnsserver.Config) *dnsserver.Server {
	t.Helper()
	s, err := spec.Parse([]byte(specText))
	if err != nil {
		t.Fatal(err)
	}
	l, err := controller.NewLocal(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr = "127.0.0.1:0"
	cfg.Getenv = func(k string) string { return map[string]string{"XFR_SECRET": xfrKey.Secret}[k] }
	srv := dnsserver.NewServer(cfg, l, slog.New(slog.DiscardHandler))
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	return srv
}

// dialFrom opens n TCP connections to server from the source address from.
func dialFrom(t *testing.T, server, from string, n int) []net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := d.Dial("tcp", server)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return conns
}

// tcpQuery asks server for name A over TCP from the source address from.
func tcpQuery(server, from, name string, timeout time.Duration) (*dns.Msg, error) {
	c := &dns.Client{Net: "tcp", Timeout: timeout,
		Dialer: &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: timeout}}
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	r, _, err := c.Exchange(m, server)
	return r, err
}

// closedBy reports whether the server closed c by deadline (EOF or reset
// rather than a read timeout).
func closedBy(c net.Conn, deadline time.Time) bool {
	_ = c.SetReadDeadline(deadline)
	_, err := c.Read(make([]byte, 1))
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

// TestTCPSlotsHeldByOneClient replays the audit's attack: one client opens
// far more TCP connections than the server's cap and holds them idle.
// Another client's TCP query and the allowed secondary's AXFR must still
// be served at once, the flood is shed at accept, and the connections it
// keeps are closed within the idle timeout.
func TestTCPSlotsHeldByOneClient(t *testing.T) {
	const idle = 2 * time.Second
	srv := startServer(t, xfrSpec("", 200), dnsserver.Config{
		TCPIdleTimeout: idle, MaxTCPConns: 64, MaxTCPConnsPerIP: 8,
	})
	flood := dialFrom(t, srv.Addr(), "127.0.0.5", 200)
	opened := time.Now()

	start := time.Now()
	r, err := tcpQuery(srv.Addr(), "127.0.0.3", "www.example.test.", 2*time.Second)
	if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("TCP query from another client during the flood: %v, %v", r, err)
	}
	t.Logf("answered in %s", time.Since(start))
	rrs, err := transferFrom(t, srv.Addr(), "127.0.0.2", axfrQuery("example.test."), nil)
	if err != nil || len(rrs) < 200 {
		t.Fatalf("AXFR from the secondary during the flood: %d records, %v", len(rrs), err)
	}
	if shed := srv.Stats().TCPShed; shed < 150 {
		t.Errorf("%d of the flood's 200 connections were shed at accept, want at least 150", shed)
	}
	kept := 0
	for _, c := range flood {
		if !closedBy(c, opened.Add(idle+3*time.Second)) {
			kept++
		}
	}
	if kept > 0 {
		t.Errorf("%d idle connections were still open %s after the idle timeout", kept, 3*time.Second)
	}
}

// TestTCPTrickle: a client that starts a query and stops sending is cut
// off after the I/O timeout, not the (longer) idle timeout.
func TestTCPTrickle(t *testing.T) {
	srv := startServer(t, xfrSpec("", 0), dnsserver.Config{TCPIdleTimeout: 10 * time.Second, TCPIOTimeout: 200 * time.Millisecond})
	c := dialFrom(t, srv.Addr(), "127.0.0.5", 1)[0]
	start := time.Now()
	if _, err := c.Write([]byte{0, 40, 0x12}); err != nil {
		t.Fatal(err)
	}
	if !closedBy(c, start.Add(5*time.Second)) {
		t.Fatal("a connection with half a query was still open after 5s")
	}
	t.Logf("closed after %s", time.Since(start))
}

// TestTCPGlobalCap: past the global cap, a new connection is closed at once
// instead of waiting in a queue.
func TestTCPGlobalCap(t *testing.T) {
	srv := startServer(t, xfrSpec("", 0), dnsserver.Config{MaxTCPConns: 12, MaxTCPConnsPerIP: 4})
	for _, from := range []string{"127.0.1.1", "127.0.1.2", "127.0.1.3"} {
		dialFrom(t, srv.Addr(), from, 4)
	}
	late := dialFrom(t, srv.Addr(), "127.0.0.3", 1)[0]
	if !closedBy(late, time.Now().Add(2*time.Second)) {
		t.Fatal("a connection over the global cap was kept waiting")
	}
	if shed := srv.Stats().TCPShed; shed != 1 {
		t.Errorf("TCPShed = %d, want 1", shed)
	}
}
