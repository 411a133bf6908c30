package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// A node with TLS serves its API over HTTPS with its certificate; the
// client trusts it with --ca-cert and authenticates with a token from
// the node's tokens file, whose scope decides what it may do.
func TestClientTLSAndTokens(t *testing.T) {
	ca := testutil.NewCA(t)
	cert, key := ca.Issue(t, "a-1")
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens.yaml")
	if err := os.WriteFile(tokens, []byte(`tokens:
  - {name: grafana, scope: read, token: read-3fee4485afc83991b136cd642f34332e}
  - {name: oncall, scope: operate, token: operate-7c7b0cf72de351c9b9d008c0aae73923}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	specFile := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(specFile, []byte(`zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
datacenters: [{name: a}]
pools:
  - {name: pa, datacenter: a, endpoints: [{address: 192.0.2.1}]}
records:
  - {name: www.example.test, type: A, pools: [pa]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(node.Config{NodeID: "a-1", Datacenter: "a", RaftAddr: ln.Addr().String(),
		Peers: []node.Peer{{ID: "a-1", Address: ln.Addr().String()}}, Deps: node.Deps{Listener: ln},
		DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", DataDir: filepath.Join(dir, "data"), Spec: specFile,
		TLSCA: ca.CAFile, TLSCert: cert, TLSKey: key, APITokens: tokens, Timing: node.DevTiming}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	t.Setenv("DETOUR_API", "https://"+n.APIAddr())
	t.Setenv("DETOUR_CA_CERT", ca.CAFile)
	t.Setenv("DETOUR_TOKEN", "read-3fee4485afc83991b136cd642f34332e")
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, out := runCLI("status")
		if code == 0 && strings.Contains(out, "www.example.test. A → 192.0.2.1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status over TLS: %s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"untrusted", []string{"status", "--ca-cert", ""}, 1, "certificate"},
		{"plaintext", []string{"status", "--api", "http://" + n.APIAddr()}, 1, ""},
		{"no token", []string{"status", "--token", "-"}, 1, "not known"},
		{"weak scope", []string{"drain", "a", "--reason", "x"}, 1, `token "grafana" has scope read; this needs operate`},
		// www has one pool: draining it is forced past the guard.
		{"operate", []string{"drain", "a", "--reason", "x", "--force", "--token", "operate-7c7b0cf72de351c9b9d008c0aae73923"}, 0, "drained a: x"},
		{"operate cannot apply a spec", []string{"spec", "apply", specFile, "--token", "operate-7c7b0cf72de351c9b9d008c0aae73923"}, 1, "this needs admin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "untrusted" {
				t.Setenv("DETOUR_CA_CERT", "")
			}
			code, out := runCLI(c.args...)
			if code != c.code || !strings.Contains(out, c.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, c.code, c.want, out)
			}
		})
	}
}
