package dnsserver

import (
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Replies are counted by query type on the fast path, the slow path and
// over TCP, whether the TCP connection is still open or not.
func TestStatsCountQueryTypes(t *testing.T) {
	snap := buildSnapshot(t, testSpec, wwwAnswer("192.0.2.10"), nil, time.Now())
	srv := NewServer(Config{Addr: "127.0.0.1:0", UDPWorkers: 1}, fixed{snap}, discard())
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(t.Context())
	ask := func(net string, name string, qtype uint16) {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		c := &dns.Client{Net: net, Timeout: 2 * time.Second}
		if _, _, err := c.Exchange(m, srv.Addr()); err != nil {
			t.Fatal(err)
		}
	}
	ask("udp", "www.example.test.", dns.TypeA)     // fast path
	ask("udp", "nope.example.test.", dns.TypeA)    // slow path
	ask("udp", "example.test.", dns.TypeMX)        // fast path
	ask("udp", "www.example.test.", dns.TypeNAPTR) // other
	ask("tcp", "www.example.test.", dns.TypeAAAA)  // closed TCP connection
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conn := &dns.Conn{Conn: c}
	m := new(dns.Msg)
	m.SetQuestion("example.test.", dns.TypeSOA)
	if err := conn.WriteMsg(m); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ReadMsg(); err != nil {
		t.Fatal(err)
	}
	want := map[int]uint64{QtypeA: 2, QtypeMX: 1, QtypeOther: 1, QtypeAAAA: 1, QtypeSOA: 1}
	deadline := time.Now().Add(2 * time.Second)
	for {
		got := srv.Stats()
		ok := true
		for slot := range NumQtypes {
			if got.Qtype[slot] != want[slot] {
				ok = false
			}
		}
		if ok && got.Queries() == 6 {
			return
		}
		if time.Now().After(deadline) {
			for slot := range NumQtypes {
				if got.Qtype[slot] != want[slot] {
					t.Errorf("%s: %d queries, want %d", QtypeName(slot), got.Qtype[slot], want[slot])
				}
			}
			t.Fatalf("%d replies, want 6", got.Queries())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
