package health

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/seed3787e6f1/detour/spec"
)

// dnsServer serves a tiny zone on 127.0.0.1 over UDP and TCP (same port):
// www.example.test A 192.0.2.10, big.example.test with 40 TXT records
// (truncated over UDP), NXDOMAIN for the rest.
func dnsServer(t *testing.T) string {
	t.Helper()
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Authoritative = true
		name := strings.ToLower(q.Question[0].Name)
		switch name {
		case "www.example.test.":
			rr, _ := dns.NewRR("www.example.test. 30 IN A 192.0.2.10")
			m.Answer = append(m.Answer, rr)
		case "big.example.test.":
			for i := range 40 {
				rr, _ := dns.NewRR("big.example.test. 30 IN TXT \"" + strings.Repeat("x", 50) + string(rune('a'+i%26)) + "\"")
				m.Answer = append(m.Answer, rr)
			}
		default:
			m.Rcode = dns.RcodeNameError
		}
		if _, isUDP := w.RemoteAddr().(*net.UDPAddr); isUDP {
			m.Truncate(512)
		}
		w.WriteMsg(m)
	})
	pc, l := udpAndTCP(t)
	for _, s := range []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: l, Handler: handler}} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		go s.ActivateAndServe()
		<-started
		t.Cleanup(func() { s.Shutdown() })
	}
	return pc.LocalAddr().String()
}

// udpAndTCP listens on one loopback port for UDP and TCP. The port the
// kernel gives for UDP may be taken for TCP by another test process:
// then it tries another, a bounded number of times.
func udpAndTCP(t *testing.T) (net.PacketConn, net.Listener) {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l
		}
		pc.Close()
	}
	t.Fatal("no loopback port free for both UDP and TCP in 20 tries")
	return nil, nil
}

func TestDNSCheck(t *testing.T) {
	addr := dnsServer(t)
	check := func(name, qtype, rcode, answer string) spec.Check {
		return spec.Check{Name: "d", Type: spec.CheckDNS, QueryName: name, QueryType: qtype, ExpectRcode: rcode, ExpectAnswer: answer,
			Interval: spec.Duration(time.Second), Timeout: spec.Duration(300 * time.Millisecond), Rise: 1, Fall: 1}
	}
	cases := []struct {
		name   string
		check  spec.Check
		probe  string
		up     bool
		reason string
		class  string
	}{
		{"rcode", check("www.example.test", "A", "NOERROR", ""), addr, true, "DNS NOERROR", ClassOK},
		{"answer", check("WWW.example.test.", "A", "NOERROR", "192.0.2.10"), addr, true, "DNS answer 192.0.2.10", ClassOK},
		{"wrong answer", check("www.example.test", "A", "NOERROR", "192.0.2.11"), addr, false,
			`DNS answer does not contain "192.0.2.11" (1 A records)`, ClassContent},
		{"wrong rcode", check("nope.example.test", "A", "NOERROR", ""), addr, false, "DNS rcode NXDOMAIN, want NOERROR", ClassStatus},
		{"expected nxdomain", check("nope.example.test", "A", "NXDOMAIN", ""), addr, true, "DNS NXDOMAIN", ClassOK},
		{"truncated retried over tcp", check("big.example.test", "TXT", "NOERROR", `"`+strings.Repeat("x", 50)+`n"`), addr, true,
			`DNS answer "` + strings.Repeat("x", 50) + `n"`, ClassOK},
		{"nobody home", check("www.example.test", "A", "NOERROR", ""), refusedUDP(t), false, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := probeOnce(t, c.check, c.probe)
			if c.reason == "" { // an unanswered UDP query: refused (ICMP) or timeout, both down
				if r.Up || (r.Class != ClassRefused && r.Class != ClassTimeout) {
					t.Errorf("got up=%v reason=%q class=%s, want down, refused or timeout", r.Up, r.Reason, r.Class)
				}
				return
			}
			if r.Up != c.up || r.Reason != c.reason || r.Class != c.class {
				t.Errorf("got up=%v reason=%q class=%s, want up=%v reason=%q class=%s", r.Up, r.Reason, r.Class, c.up, c.reason, c.class)
			}
		})
	}
}

// refusedUDP returns a loopback UDP address nothing listens on.
func refusedUDP(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}
