package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
)

// Three nodes form a cluster over mutual TLS without --insecure; a peer
// with a certificate from another CA, or without TLS, is refused.
func TestMutualTLSCluster(t *testing.T) {
	ca := testutil.NewCA(t)
	dir := t.TempDir()
	specFile := filepath.Join(dir, "spec.yaml")
	spec := `zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
datacenters: [{name: a}, {name: b}, {name: c}]
pools:
  - {name: pa, datacenter: a, endpoints: [{address: 192.0.2.1}]}
records:
  - {name: www.example.test, type: A, pools: [pa]}
`
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	ids := []string{"a-1", "b-1", "c-1"}
	peers, lns := heldPeers(t, ids)
	var nodes []*Node
	for i, id := range ids {
		cert, key := ca.Issue(t, id)
		n, err := Start(Config{NodeID: id, Datacenter: string(rune('a' + i)), RaftAddr: peers[i].Address, Peers: peers,
			DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", DataDir: filepath.Join(dir, id), Spec: specFile,
			TLSCA: ca.CAFile, TLSCert: cert, TLSKey: key, Timing: DevTiming, Deps: Deps{Listener: lns[i]}}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close(context.Background()) })
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		deadline := time.Now().Add(15 * time.Second)
		for strings.TrimSpace(testutil.Dig(t, n.DNSAddr(), "+short", "www.example.test")) != "192.0.2.1" {
			if time.Now().After(deadline) {
				t.Fatalf("%s does not answer over a TLS cluster", n.DNSAddr())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	members, err := nodes[0].Store().Members()
	if err != nil || len(members) != 3 {
		t.Fatalf("members over TLS: %v %v", members, err)
	}

	// A stranger with another CA's certificate.
	other := testutil.NewCA(t)
	cert, key := other.Issue(t, "intruder")
	kp, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(ca.CAFile)
	pool.AppendCertsFromPEM(caPEM)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", peers[0].Address, &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{kp}})
	if err == nil {
		// TLS 1.3 reports the client-certificate refusal on first read.
		_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
		_, _ = conn.Write([]byte{'C'})
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
	}
	if err == nil {
		t.Error("a peer with another CA's certificate was accepted")
	}
	// Plaintext: the handshake fails and the connection is closed.
	pc, err := net.DialTimeout("tcp", peers[0].Address, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = pc.SetDeadline(time.Now().Add(12 * time.Second))
	pc.Write([]byte("R plaintext raft"))
	if _, err := pc.Read(make([]byte, 64)); err == nil {
		t.Error("a plaintext peer got an answer")
	}
	pc.Close()
}

// heldPeers returns a peer for each id with its node port's listener,
// bound now and handed to the node (Deps.Listener): a port picked free
// and bound later can be taken by another test in between.
func heldPeers(t *testing.T, ids []string) ([]Peer, []net.Listener) {
	t.Helper()
	var peers []Peer
	var lns []net.Listener
	for _, id := range ids {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		peers = append(peers, Peer{ID: id, Address: ln.Addr().String()})
	}
	return peers, lns
}
