package nodeport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// peerTLS is a node's TLS setup with the certificate in files.
func peerTLS(t *testing.T, ca *testutil.CA, cert, key string) *tls.Config {
	t.Helper()
	kp, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(ca.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{kp}, RootCAs: pool, ClientCAs: pool}
}

func servers(pairs ...string) []raft.Server {
	var out []raft.Server
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, raft.Server{ID: raft.ServerID(pairs[i]), Address: raft.ServerAddress(pairs[i+1])})
	}
	return out
}

// startMux serves a node port with the given identity and members and
// reports the members each forwarding connection authenticated as.
func startMux(t *testing.T, cfg *tls.Config, members func() []raft.Server) (*Mux, chan []string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := NewMux(ln, cfg, members, nil, slog.New(slog.DiscardHandler))
	peers := make(chan []string, 4)
	m.Serve(func(c net.Conn, peer []string) {
		peers <- peer
		c.Close()
	})
	t.Cleanup(func() { m.Close() })
	return m, peers
}

// A dialling node checks that the node it reaches is the member at that
// address: a certificate from the same CA for another member (or a
// non-member) is refused, the right one accepted; the accepting side
// learns the dialler's member ID from its certificate.
func TestDialVerifiesTheMemberItDials(t *testing.T) {
	ca := testutil.NewCA(t)
	x1c, x1k := ca.Issue(t, "x-1")
	y1c, y1k := ca.Issue(t, "y-1")
	var serverAddr string
	srv, peers := startMux(t, peerTLS(t, ca, x1c, x1k), func() []raft.Server { return servers("x-1", serverAddr, "y-1", "127.0.0.1:1") })
	serverAddr = srv.Addr().String()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	right, _ := startMux(t, peerTLS(t, ca, y1c, y1k), func() []raft.Server { return servers("x-1", serverAddr, "y-1", "127.0.0.1:1") })
	c, err := right.Dial(ctx, serverAddr, KindRPC)
	if err != nil {
		t.Fatalf("dialling the member at its address: %v", err)
	}
	c.Close()
	select {
	case p := <-peers:
		if !slices.Equal(p, []string{"y-1"}) {
			t.Errorf("the accepting side saw %v, want [y-1]", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no connection reached the RPC handler")
	}

	// This dialler's configuration says the address is z-1's.
	wrong, _ := startMux(t, peerTLS(t, ca, y1c, y1k), func() []raft.Server { return servers("z-1", serverAddr, "y-1", "127.0.0.1:1") })
	_, err = wrong.Dial(ctx, serverAddr, KindRPC)
	if !errors.Is(err, ErrNotMember) || !strings.Contains(err.Error(), "belongs to z-1, but its certificate names x-1") {
		t.Errorf("dialling z-1's address and meeting x-1: %v", err)
	}
	// An address no member has.
	_, err = wrong.Dial(ctx, "127.0.0.1:2", KindRPC)
	if err == nil {
		t.Error("dialled an address that is no member's")
	}
	// The configuration names x-1 by host name; Raft reports the
	// leader's address resolved. Dialled by ID, it is x-1.
	_, port, _ := net.SplitHostPort(serverAddr)
	byName, _ := startMux(t, peerTLS(t, ca, y1c, y1k), func() []raft.Server { return servers("x-1", "localhost:"+port, "y-1", "127.0.0.1:1") })
	if c, err := byName.DialMember(ctx, "x-1", serverAddr, KindRPC); err != nil {
		t.Errorf("dialling x-1 by ID at its resolved address: %v", err)
	} else {
		c.Close()
	}
	if _, err := byName.DialMember(ctx, "y-1", serverAddr, KindRPC); !errors.Is(err, ErrNotMember) {
		t.Errorf("dialling y-1 and meeting x-1: %v", err)
	}
}

// identify: a node URI names one node, which must be a member; without a
// node URI, a SAN for a member's address host names the members there.
func TestIdentify(t *testing.T) {
	ca := testutil.NewCA(t)
	load := func(s testutil.CertSpec) *x509.Certificate {
		cf, kf := ca.IssueSpec(t, s)
		kp, err := tls.LoadX509KeyPair(cf, kf)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(kp.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	members := servers("a-1", "10.0.0.1:7001", "b-1", "node-b.example:7001", "c-1", "10.0.0.3:7001", "c-2", "10.0.0.3:7002")
	cases := []struct {
		name string
		cert testutil.CertSpec
		want []string
		err  string
	}{
		{"node URI", testutil.CertSpec{CommonName: "u1", URIs: []string{NodeURI("a-1")}}, []string{"a-1"}, ""},
		{"node URI wins over an address", testutil.CertSpec{CommonName: "u2", URIs: []string{NodeURI("d-1")}, IPs: []net.IP{net.ParseIP("10.0.0.1")}}, nil, `names node "d-1", which is not a member`},
		{"two node URIs", testutil.CertSpec{CommonName: "u3", URIs: []string{NodeURI("a-1"), NodeURI("b-1")}}, nil, "names 2 nodes"},
		{"IP SAN", testutil.CertSpec{CommonName: "ip", IPs: []net.IP{net.ParseIP("10.0.0.1")}}, []string{"a-1"}, ""},
		{"DNS SAN", testutil.CertSpec{CommonName: "dns", DNSNames: []string{"node-b.example"}}, []string{"b-1"}, ""},
		{"shared host", testutil.CertSpec{CommonName: "shared", IPs: []net.IP{net.ParseIP("10.0.0.3")}}, []string{"c-1", "c-2"}, ""},
		{"operator", testutil.CertSpec{CommonName: "alice", Client: true}, nil, `subject "alice" has no`},
		{"DNS SAN equal to an ID is not an ID", testutil.CertSpec{CommonName: "d", DNSNames: []string{"a-1"}}, nil, "no SAN for a member's address"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := identify(load(c.cert), members)
			if c.err != "" {
				if !errors.Is(err, ErrNotMember) || !strings.Contains(err.Error(), c.err) {
					t.Errorf("got %v %v, want an error with %q", got, err, c.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, c.want) {
				t.Errorf("got %v %v, want %v", got, err, c.want)
			}
		})
	}
}
