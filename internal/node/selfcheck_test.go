package node

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/internal/testutil"
)

// The certificate self-check finds each way a node certificate breaks
// the node port, and names the fix.
func TestNodeCertSelfCheck(t *testing.T) {
	ca := testutil.NewCA(t)
	other := testutil.NewCA(t)
	loop := []net.IP{net.IPv4(127, 0, 0, 1)}
	goodCert, goodKey := ca.IssueSpec(t, testutil.CertSpec{CommonName: "good", DNSNames: []string{"localhost"}, IPs: loop,
		URIs: []string{"spiffe://detour/node/n-1"}, Server: true, Client: true})
	_, otherKey := ca.Issue(t, "n-9")
	file := func(c *testutil.CA, s testutil.CertSpec) [2]string {
		cert, key := c.IssueSpec(t, s)
		return [2]string{cert, key}
	}
	cases := []struct {
		name  string
		files [2]string
		want  []string // empty: no problem
	}{
		{"node URI and both usages", [2]string{goodCert, goodKey}, nil},
		{"IP SAN, no URI", file(ca, testutil.CertSpec{CommonName: "ip-only", IPs: loop, Server: true, Client: true}), nil},
		{"serverAuth only", file(ca, testutil.CertSpec{CommonName: "server-only", IPs: loop, Server: true}),
			[]string{"lacks the clientAuth extended key usage", "needs both serverAuth and clientAuth"}},
		{"clientAuth only", file(ca, testutil.CertSpec{CommonName: "client-only", IPs: loop, Client: true}),
			[]string{"lacks the serverAuth extended key usage"}},
		{"CN and no SAN", file(ca, testutil.CertSpec{CommonName: "n-1", Server: true, Client: true}),
			[]string{`has no subject alternative name (only the common name "n-1", which TLS ignores)`, "issue it with the SAN IP:127.0.0.1 or the URI SAN spiffe://detour/node/n-1"}},
		{"wrong SAN", file(ca, testutil.CertSpec{CommonName: "wrong-san", DNSNames: []string{"db.example"}, IPs: []net.IP{net.IPv4(10, 9, 9, 9)}, Server: true, Client: true}),
			[]string{"covers neither 127.0.0.1, where peers reach this node", "SAN IP:127.0.0.1"}},
		{"another node's URI", file(ca, testutil.CertSpec{CommonName: "n-2", IPs: loop, URIs: []string{"spiffe://detour/node/n-2"}, Server: true, Client: true}),
			[]string{`names spiffe://detour/node/n-2, but this node is "n-1"`}},
		{"unknown CA", file(other, testutil.CertSpec{CommonName: "foreign", IPs: loop, URIs: []string{"spiffe://detour/node/n-1"}, Server: true, Client: true}),
			[]string{"does not verify against --tls-ca " + ca.CAFile, "certificate signed by unknown authority", "issue it from that CA"}},
		{"key of another certificate", [2]string{goodCert, otherKey},
			[]string{"--tls-key " + otherKey + " does not go with --tls-cert " + goodCert, "give the key the certificate was issued for"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			problems := checkNodeCert(ca.CAFile, tc.files[0], tc.files[1], "n-1", "127.0.0.1:7001")
			got := errors.Join(problems...)
			if len(tc.want) == 0 {
				if got != nil {
					t.Fatalf("a good certificate has problems: %v", got)
				}
				return
			}
			if got == nil {
				t.Fatal("no problem found")
			}
			for _, w := range tc.want {
				if !strings.Contains(got.Error(), w) {
					t.Errorf("the problems lack %q:\n%v", w, got)
				}
			}
		})
	}
}

// A node with several broken settings and files says all of it at once,
// before Raft starts: its data dir stays empty.
func TestStartReportsEveryProblemBeforeRaft(t *testing.T) {
	ca := testutil.NewCA(t)
	cert, key := ca.IssueSpec(t, testutil.CertSpec{CommonName: "n-1", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true})
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte("this is not a tokens file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	cfg := Config{NodeID: "n-1", Datacenter: "a", RaftAddr: "127.0.0.1:7001", Peers: []Peer{{ID: "n-1", Address: "127.0.0.1:7001"}},
		DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", DataDir: dataDir, Spec: filepath.Join(dir, "missing.yaml"),
		TLSCA: ca.CAFile, TLSCert: cert, TLSKey: key, APITokens: tokens,
		Raft: RaftSettings{ObserverStaleAfter: 1, ReportInterval: 2}}
	_, err := Start(cfg, slog.New(slog.DiscardHandler))
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("Start = %v, want ErrConfig", err)
	}
	for _, want := range []string{"raft.observer_stale_after", "--spec " + cfg.Spec, "lacks the clientAuth extended key usage", "api tokens " + tokens} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	if _, statErr := os.Stat(dataDir); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("the data dir was made before the settings were checked: %v", statErr)
	}
}

// A weak token in the tokens file stops the node before Raft starts.
func TestWeakTokensFileRefusedBeforeRaft(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte("tokens:\n  - {name: admin, scope: admin, token: \"7\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	cfg := Config{NodeID: "n-1", Datacenter: "a", RaftAddr: "127.0.0.1:7001", Peers: []Peer{{ID: "n-1", Address: "127.0.0.1:7001"}},
		DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", DataDir: dataDir, Spec: "../../examples/dev/spec.yaml",
		APITokens: tokens, Insecure: true}
	n, err := Start(cfg, slog.New(slog.DiscardHandler))
	if err == nil {
		n.Close(context.Background())
		t.Fatal("started with a weak token")
	}
	if !strings.Contains(err.Error(), `token "admin" has about 0 bits of entropy`) {
		t.Errorf("the error does not name the weak token: %v", err)
	}
	if _, statErr := os.Stat(dataDir); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("Raft started before the tokens were checked: %v", statErr)
	}
}
