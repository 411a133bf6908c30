package dnsserver_test

import (
	"errors"
	"fmt"
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

// busyFrom opens n TCP connections from the source address from, each
// with the first byte of a query sent: busy, not idle, until the I/O
// timeout. It gives the server a moment to read those bytes.
func busyFrom(t *testing.T, server, from string, n int) {
	t.Helper()
	for _, c := range dialFrom(t, server, from, n) {
		if _, err := c.Write([]byte{0}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond) // settle: not what is asserted
}

// TestTCPGlobalCap: past the global cap, with every connection busy, a
// new connection is closed at once instead of waiting in a queue.
func TestTCPGlobalCap(t *testing.T) {
	srv := startServer(t, xfrSpec("", 0), dnsserver.Config{MaxTCPConns: 12, MaxTCPConnsPerIP: 4, TCPIOTimeout: 20 * time.Second})
	// 11 connections fill the general pool: the cap less its 1/16
	// (at least one) kept for secondaries.
	for i, from := range []string{"127.0.1.1", "127.0.1.2", "127.0.1.3"} {
		busyFrom(t, srv.Addr(), from, 4-i/2)
	}
	late := dialFrom(t, srv.Addr(), "127.0.0.3", 1)[0]
	if !closedBy(late, time.Now().Add(2*time.Second)) {
		t.Fatal("a connection over the global cap was kept waiting")
	}
	if shed := srv.Stats().TCPShed; shed != 1 {
		t.Errorf("TCPShed = %d, want 1", shed)
	}
}

// TestTCPReserveForSecondaries replays the audit's attack with busy
// connections: clients from many addresses fill the general pool, which
// no idle eviction can empty. A fresh client is refused, but the
// secondary (allow_transfer 127.0.0.2) gets one of the reserved slots
// and its AXFR completes.
func TestTCPReserveForSecondaries(t *testing.T) {
	srv := startServer(t, xfrSpec("", 200), dnsserver.Config{MaxTCPConns: 32, MaxTCPConnsPerIP: 4, TCPIOTimeout: 20 * time.Second})
	for i := 1; i <= 10; i++ { // 40 tries at 30 general slots
		busyFrom(t, srv.Addr(), fmt.Sprintf("127.0.2.%d", i), 4)
	}
	if shed := srv.Stats().TCPShed; shed != 10 {
		t.Errorf("TCPShed = %d, want 10: the general pool is the cap less 1/16", shed)
	}
	late := dialFrom(t, srv.Addr(), "127.0.0.3", 1)[0]
	if !closedBy(late, time.Now().Add(2*time.Second)) {
		t.Error("a client's connection got a slot kept for secondaries")
	}
	rrs, err := transferFrom(t, srv.Addr(), "127.0.0.2", axfrQuery("example.test."), nil)
	if err != nil || len(rrs) < 200 {
		t.Fatalf("AXFR from the secondary with the general pool full: %d records, %v", len(rrs), err)
	}
}

// TestTCPIdleFloodFromManyAddresses replays the audit's attack: idle
// connections from many addresses, within the per-address limit, fill
// the server's cap. The longest idle ones make room: a fresh client's
// query is answered and the secondary's AXFR completes.
func TestTCPIdleFloodFromManyAddresses(t *testing.T) {
	srv := startServer(t, xfrSpec("", 200), dnsserver.Config{MaxTCPConns: 32, MaxTCPConnsPerIP: 4, TCPIdleTimeout: 20 * time.Second})
	for i := 1; i <= 16; i++ { // 64 idle connections for 32 slots
		dialFrom(t, srv.Addr(), fmt.Sprintf("127.0.2.%d", i), 4)
	}
	for i := range 5 {
		r, err := tcpQuery(srv.Addr(), fmt.Sprintf("127.0.3.%d", i+1), "www.example.test.", 2*time.Second)
		if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Fatalf("fresh client %d during the idle flood: %v, %v", i+1, r, err)
		}
	}
	rrs, err := transferFrom(t, srv.Addr(), "127.0.0.2", axfrQuery("example.test."), nil)
	if err != nil || len(rrs) < 200 {
		t.Fatalf("AXFR from the secondary during the idle flood: %d records, %v", len(rrs), err)
	}
	if shed := srv.Stats().TCPShed; shed < 32 {
		t.Errorf("TCPShed = %d, want at least the 32 idle connections over the cap", shed)
	}
}
