package dnsserver_test

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/dnsserver"
)

// udpFrom opens a UDP socket from the source address from to server.
func udpFrom(t *testing.T, server, from string) *net.UDPConn {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)}, raddr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(4 << 20)
	t.Cleanup(func() { c.Close() })
	return c
}

// query packs name A with EDNS, and with cookie (8 or 24 bytes, hex) when
// set.
func query(t *testing.T, id uint16, name, cookie string) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	m.Id = id
	m.SetEdns0(1232, false)
	if cookie != "" {
		m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: cookie})
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// floodResult counts the replies to a flood.
type floodResult struct {
	sent, answered, slipped int
	elapsed                 time.Duration
}

// flood sends n queries from c over about a second (names from name(i))
// and collects the replies; check sees each one.
func flood(t *testing.T, c *net.UDPConn, n int, name func(i int) string, cookie string, check func(q, r *dns.Msg)) floodResult {
	t.Helper()
	sent := make([]*dns.Msg, n)
	done := make(chan floodResult)
	go func() {
		var res floodResult
		buf := make([]byte, 65535)
		for {
			_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			k, err := c.Read(buf)
			if err != nil {
				done <- res
				return
			}
			r := new(dns.Msg)
			if err := r.Unpack(buf[:k]); err != nil {
				t.Errorf("malformed reply: %v", err)
				continue
			}
			if int(r.Id) >= n || sent[r.Id] == nil {
				t.Errorf("reply to a query never sent: id %d", r.Id)
				continue
			}
			check(sent[r.Id], r)
			if r.Truncated {
				res.slipped++
			} else {
				res.answered++
			}
		}
	}()
	start := time.Now()
	for i := range n {
		msg := query(t, uint16(i), name(i), cookie)
		q := new(dns.Msg)
		_ = q.Unpack(msg)
		sent[i] = q
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		if i%20 == 19 {
			time.Sleep(time.Second / time.Duration(n/20)) // about a second in all
		}
	}
	res := <-done
	res.sent, res.elapsed = n, time.Since(start)
	return res
}

// wellFormed checks a reply to q: its ID and question, and for a slip, TC
// with empty sections and the OPT record the query asked for.
func wellFormed(t *testing.T) func(q, r *dns.Msg) {
	return func(q, r *dns.Msg) {
		if !r.Response || r.Id != q.Id || len(r.Question) != 1 || r.Question[0] != q.Question[0] {
			t.Errorf("reply does not answer its query:\n%s\n%s", q, r)
		}
		if r.Truncated && (len(r.Answer)+len(r.Ns) > 0 || r.IsEdns0() == nil || len(r.Extra) != 1) {
			t.Errorf("slip is not a bare truncated reply with OPT:\n%s", r)
		}
	}
}

// udpAsk sends n queries one at a time from c and counts full answers.
func udpAsk(t *testing.T, c *net.UDPConn, n int, cookie string) (answered int, lastCookie string) {
	t.Helper()
	buf := make([]byte, 65535)
	for i := range n {
		if _, err := c.Write(query(t, uint16(i), "www.example.test.", cookie)); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		k, err := c.Read(buf)
		if err != nil {
			continue
		}
		r := new(dns.Msg)
		if r.Unpack(buf[:k]) == nil && !r.Truncated && len(r.Answer) == 1 {
			answered++
		}
		if opt := r.IsEdns0(); opt != nil {
			for _, o := range opt.Option {
				if ck, ok := o.(*dns.EDNS0_COOKIE); ok {
					lastCookie = ck.Cookie
				}
			}
		}
	}
	return answered, lastCookie
}

// TestRRL replays the audit's flood (thousands of queries from one
// address, each answered) against a server limiting 20 responses per
// second: the flood gets about that many answers, half the rest as TC
// slips, while another network, an exempt network, a client with a valid
// server cookie and TCP from the flooding network are all served.
func TestRRL(t *testing.T) {
	const rate = 20
	srv := startServer(t, xfrSpec("", 0), dnsserver.Config{RRL: dnsserver.RRLConfig{
		Rate: rate, Exempt: []netip.Prefix{netip.MustParsePrefix("127.0.9.0/24")},
	}})
	nx := func(i int) string { return fmt.Sprintf("r%d.example.test.", i) }
	www := func(int) string { return "www.example.test." }
	mixed := func(i int) string {
		if i%2 == 0 {
			return www(i)
		}
		return nx(i)
	}
	res := flood(t, udpFrom(t, srv.Addr(), "127.0.0.5"), 2000, mixed, "", wellFormed(t))
	t.Logf("flood: %+v", res)
	// Two classes (the answer, NXDOMAIN), each a second's burst plus the
	// rate; generous.
	if bound := 2 * rate * int(res.elapsed.Seconds()+3); res.answered > bound {
		t.Errorf("flood got %d answers in %s, want at most %d", res.answered, res.elapsed, bound)
	}
	if limited := res.sent - res.answered; res.slipped < limited/4 || res.slipped > limited*3/4 {
		t.Errorf("%d slips for %d limited responses, want about half", res.slipped, limited)
	}
	st := srv.Stats()
	if st.RRLDropped == 0 || st.RRLSlipped != uint64(res.slipped) {
		t.Errorf("stats: %d dropped, %d slipped; the client saw %d slips", st.RRLDropped, st.RRLSlipped, res.slipped)
	}

	t.Run("another network", func(t *testing.T) {
		if n, _ := udpAsk(t, udpFrom(t, srv.Addr(), "127.0.2.1"), 10, ""); n != 10 {
			t.Errorf("%d of 10 answered", n)
		}
	})
	t.Run("exempt network", func(t *testing.T) {
		if n, _ := udpAsk(t, udpFrom(t, srv.Addr(), "127.0.9.1"), 200, ""); n != 200 {
			t.Errorf("%d of 200 answered", n)
		}
	})
	t.Run("TCP from the flooding network", func(t *testing.T) {
		for range 50 {
			if r, err := tcpQuery(srv.Addr(), "127.0.0.5", "www.example.test.", 2*time.Second); err != nil || r.Truncated || len(r.Answer) != 1 {
				t.Fatalf("TCP query: %v, %v", r, err)
			}
		}
	})
	t.Run("valid server cookie", func(t *testing.T) {
		c := udpFrom(t, srv.Addr(), "127.0.0.6") // the flood's network
		// The bucket is empty: a client cookie alone is limited
		// like the flood, but a slip carries the server cookie.
		var cookie string
		for i := 0; cookie == "" && i < 20; i++ {
			_, cookie = udpAsk(t, c, 1, "0011223344556677")
		}
		if len(cookie) != 48 || cookie[:16] != "0011223344556677" {
			t.Fatalf("cookie in reply: %q, want the client cookie and a 16-byte server cookie", cookie)
		}
		if n, _ := udpAsk(t, c, 200, cookie); n != 200 {
			t.Errorf("with a valid server cookie, %d of 200 answered", n)
		}
		// A forged one counts for nothing: limited as the flood.
		bad := cookie[:len(cookie)-2] + "00"
		if bad == cookie {
			bad = cookie[:len(cookie)-2] + "11"
		}
		res := flood(t, c, 1000, www, bad, wellFormed(t))
		if bound := rate * int(res.elapsed.Seconds()+3); res.answered > bound {
			t.Errorf("with a forged server cookie, %d of 1000 answered, want at most %d", res.answered, bound)
		}
	})
}

// TestNoRRLByDefault: without a rate, a flood is answered in full (the
// bound above is not met by accident).
func TestNoRRLByDefault(t *testing.T) {
	srv := startServer(t, xfrSpec("", 0), dnsserver.Config{})
	res := flood(t, udpFrom(t, srv.Addr(), "127.0.0.5"), 1000, func(int) string { return "www.example.test." }, "", wellFormed(t))
	if res.answered < 900 || res.slipped != 0 {
		t.Errorf("without RRL: %+v, want every query answered", res)
	}
}
