package dnsserver

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// startTCPServer serves testSpec on loopback and dials it over TCP.
func startTCPServer(t *testing.T, cfg Config) (*Server, net.Conn) {
	t.Helper()
	snap := buildSnapshot(t, testSpec, wwwAnswer("192.0.2.10"), nil, time.Now())
	cfg.Addr = "127.0.0.1:0"
	srv := NewServer(cfg, fixed{snap}, discard())
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return srv, c
}

// framed is name's A query with ID id and its TCP length prefix.
func framed(t *testing.T, name string, id uint16) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	m.Id = id
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...)
}

// readReplies reads n replies from c and checks that they answer IDs
// 1..n in order with the expected rcodes.
func readReplies(t *testing.T, c net.Conn, n int, rcode func(id int) int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		r, err := (&dns.Conn{Conn: c}).ReadMsg()
		if err != nil {
			t.Fatalf("reply %d of %d: %v", i, n, err)
		}
		if int(r.Id) != i || r.Rcode != rcode(i) {
			t.Fatalf("reply %d: id %d rcode %s, want id %d rcode %s", i, r.Id, dns.RcodeToString[r.Rcode], i, dns.RcodeToString[rcode(i)])
		}
	}
}

// TestTCPPipelinedBatchesPastBuffer: more pipelined queries than one read
// buffer holds (65,537 bytes), written at once with a message split
// across every buffer boundary, are all answered, in order, and counted.
func TestTCPPipelinedBatchesPastBuffer(t *testing.T) {
	srv, c := startTCPServer(t, Config{})
	const n = 4000 // ~40 bytes each: about 2.5 buffers
	var batch []byte
	for i := 1; i <= n; i++ {
		name := "www.example.test."
		if i%3 == 0 {
			name = "nope.example.test."
		}
		batch = append(batch, framed(t, name, uint16(i))...)
	}
	go func() { _, _ = c.Write(batch) }()
	readReplies(t, c, n, func(id int) int {
		if id%3 == 0 {
			return dns.RcodeNameError
		}
		return dns.RcodeSuccess
	})
	c.Close()
	// The closed connection's counters reach the totals.
	if got := settledQueries(srv, n); got != n {
		t.Errorf("Stats().Queries() = %d, want %d", got, n)
	}
}

// TestTCPQueryInPieces: a query that arrives a byte at a time, within the
// I/O timeout, is answered; the next one on the same connection too.
func TestTCPQueryInPieces(t *testing.T) {
	_, c := startTCPServer(t, Config{TCPIOTimeout: 5 * time.Second})
	msg := append(framed(t, "www.example.test.", 1), framed(t, "www.example.test.", 2)...)
	for i := range msg {
		if _, err := c.Write(msg[i : i+1]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // separate segments, not what is asserted
	}
	readReplies(t, c, 2, func(int) int { return dns.RcodeSuccess })
}

// TestTCPConnectionsReuseBuffers: one query per connection, many times in
// a row; every connection is answered and counted (the buffers of closed
// connections are reused, their counters reset).
func TestTCPConnectionsReuseBuffers(t *testing.T) {
	srv, c := startTCPServer(t, Config{})
	c.Close()
	const n = 50
	for i := 1; i <= n; i++ {
		d, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		_ = d.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := d.Write(framed(t, "www.example.test.", 1)); err != nil {
			t.Fatal(err)
		}
		readReplies(t, d, 1, func(int) int { return dns.RcodeSuccess })
		d.Close()
	}
	if got := settledQueries(srv, n); got != n {
		t.Errorf("Stats().Queries() = %d, want %d", got, n)
	}
}

// settledQueries is the server's reply count once it reaches want, or
// after 5 s: a closed connection's counters are folded in as its
// goroutine ends.
func settledQueries(srv *Server, want uint64) uint64 {
	deadline := time.Now().Add(5 * time.Second)
	for {
		t := srv.Stats()
		if got := t.Queries(); got == want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTCPTrickleDoesNotRenewDeadline: a query sent a byte every 50 ms is
// cut off once the I/O timeout has run from its first byte, however many
// bytes keep coming.
func TestTCPTrickleDoesNotRenewDeadline(t *testing.T) {
	_, c := startTCPServer(t, Config{TCPIOTimeout: 300 * time.Millisecond})
	msg := framed(t, "www.example.test.", 1)
	start := time.Now()
	for i := range msg {
		if _, err := c.Write(msg[i : i+1]); err != nil {
			break // closed: what is wanted
		}
		time.Sleep(50 * time.Millisecond)
	}
	sent := time.Since(start)
	if _, err := (&dns.Conn{Conn: c}).ReadMsg(); err == nil {
		t.Fatalf("a query trickled over %s (I/O timeout 300ms) was answered", sent)
	}
}
