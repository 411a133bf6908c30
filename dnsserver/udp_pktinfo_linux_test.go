//go:build linux

package dnsserver

import (
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestUDPWildcardRepliesFromQueriedAddress: a server bound to a wildcard
// address answers a query sent to 127.0.0.2 from 127.0.0.2, not from the
// address the route to the client prefers (127.0.0.1): the client's
// connected socket drops a reply from anywhere else, so the query would
// time out. A dual-stack socket does the same for IPv4 (mapped) and ::1.
func TestUDPWildcardRepliesFromQueriedAddress(t *testing.T) {
	for _, tc := range []struct {
		listen  string
		targets []string
	}{
		{"0.0.0.0:0", []string{"127.0.0.2", "127.0.0.1"}},
		{"[::]:0", []string{"127.0.0.2", "::1"}},
	} {
		t.Run(tc.listen, func(t *testing.T) {
			snap := buildSnapshot(t, testSpec, wwwAnswer("192.0.2.10"), nil, time.Now())
			srv := NewServer(Config{Addr: tc.listen}, fixed{snap}, discard())
			if err := srv.Start(); err != nil {
				if tc.listen == "[::]:0" {
					t.Skipf("no IPv6 here: %v", err)
				}
				t.Fatal(err)
			}
			defer srv.Shutdown(t.Context())
			_, port, _ := net.SplitHostPort(srv.Addr())
			for _, target := range tc.targets {
				m := new(dns.Msg)
				m.SetQuestion("www.example.test.", dns.TypeA)
				c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
				r, _, err := c.Exchange(m, net.JoinHostPort(target, port))
				if err != nil {
					t.Fatalf("query to %s: %v", target, err)
				}
				if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
					t.Errorf("query to %s: rcode %s, %d answers", target, dns.RcodeToString[r.Rcode], len(r.Answer))
				}
			}
		})
	}
}

// TestReplyPktinfoIgnoresOtherMessages: control messages other than the
// destination's are skipped, and none at all gives no source.
func TestReplyPktinfoIgnoresOtherMessages(t *testing.T) {
	var out [pktinfoWords]uint64
	if n := replyPktinfo(words(&out), nil); n != 0 {
		t.Errorf("no control message: length %d, want 0", n)
	}
	// A 20-byte cmsg of another kind (SOL_SOCKET, SO_TIMESTAMP-like).
	other := make([]byte, 24)
	other[0] = 20
	other[8] = 1   // level SOL_SOCKET
	other[12] = 29 // type
	if n := replyPktinfo(words(&out), other); n != 0 {
		t.Errorf("another control message: length %d, want 0", n)
	}
	// A header that claims more than there is.
	bad := make([]byte, 16)
	bad[0] = 200
	if n := replyPktinfo(words(&out), bad); n != 0 {
		t.Errorf("a truncated control message: length %d, want 0", n)
	}
}
