package node

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

// A dev node checks the dev spec's endpoints, answers the fallback while
// none is up, fails over to a site as soon as it comes up, and reports
// itself ready after the first round of checks.
func TestDevNodeServes(t *testing.T) {
	devSpec, err := os.ReadFile("../../examples/dev/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Point the east pool's check at a port of this test's own.
	eastPort := testutil.FreePort(t)
	text := strings.Replace(string(devSpec), "127.0.0.1:18111", fmt.Sprintf("127.0.0.1:%d", eastPort), 1)
	text = strings.Replace(text, "127.0.0.1:18112", fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)), 1)
	text = strings.Replace(text, "127.0.0.1:18113", fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)), 1)
	specFile := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(specFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := Start(Config{Dev: true, DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", Spec: specFile}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	www := func() string { return strings.TrimSpace(testutil.Dig(t, n.DNSAddr(), "+short", "www.dev.test", "A")) }
	waitReady(t, n.APIAddr())
	if got := www(); got != "127.0.0.99" {
		t.Errorf("with no site up, www.dev.test = %q, want the fallback 127.0.0.99", got)
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", eastPort))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for www() != "127.0.0.11" {
		if time.Now().After(deadline) {
			t.Fatalf("www.dev.test = %q 10s after the east site came up, want 127.0.0.11", www())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := testutil.Dig(t, n.DNSAddr(), "+tcp", "nope.dev.test", "A"); !strings.Contains(got, "status: NXDOMAIN") {
		t.Errorf("nope.dev.test over TCP:\n%s", got)
	}
	resp, err := http.Get("http://" + n.APIAddr() + "/v1/records")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Records []struct {
			Name    string   `json:"name"`
			Answers []string `json:"answers"`
			Pool    string   `json:"pool"`
		} `json:"records"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if len(body.Records) != 1 || body.Records[0].Pool != "web-east" {
		t.Errorf("records: %+v", body.Records)
	}
}

func waitReady(t *testing.T, api string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + api + "/v1/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("/v1/ready not 200 within 10s")
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"empty production node", Config{}, []string{"--node-id is required", "--datacenter is required", "--raft-addr is required", "--peers is required", "--data-dir is required", "--dns-addr is required", "--api-addr is required"}},
		{"plaintext off loopback", Config{NodeID: "a", Datacenter: "x", RaftAddr: "10.0.0.1:7001", Peers: []Peer{{"a", "10.0.0.1:7001"}}, DataDir: "/tmp/x", DNSAddr: "10.0.0.1:53", APIAddr: "127.0.0.1:80"}, []string{`--raft-addr "10.0.0.1:7001" is not on loopback`}},
		{"plaintext node port on loopback", Config{NodeID: "a", Datacenter: "x", RaftAddr: "127.0.0.1:7001", Peers: []Peer{{"a", "127.0.0.1:7001"}}, DataDir: "/tmp/x", DNSAddr: "127.0.0.1:53", APIAddr: "127.0.0.1:80"}, []string{`--raft-addr "127.0.0.1:7001": a node port without TLS takes commands from any local process`}},
		{"--dev API off loopback", Config{Dev: true, DNSAddr: "127.0.0.1:0", APIAddr: "0.0.0.0:8053", Spec: "x"}, []string{`--api-addr "0.0.0.0:8053" is not on loopback: --dev serves plaintext on loopback only`}},
		{"--dev node port off loopback", Config{Dev: true, RaftAddr: "192.0.2.1:7001", DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", Spec: "x"}, []string{`--raft-addr "192.0.2.1:7001" is not on loopback: --dev serves plaintext on loopback only`}},
		{"half the TLS settings", Config{NodeID: "a", Datacenter: "x", RaftAddr: "127.0.0.1:7001", Peers: []Peer{{"a", "127.0.0.1:7001"}}, DataDir: "/tmp/x", DNSAddr: "127.0.0.1:53", APIAddr: "127.0.0.1:80", TLSCA: "ca.pem"}, []string{"TLS needs all of --tls-ca, --tls-cert and --tls-key (1 of 3 given)"}},
		{"web settings", Config{Dev: true, DNSAddr: "127.0.0.1:53", APIAddr: "127.0.0.1:80", Spec: "s.yaml", APIAuthFailures: -1,
			StatusURL: "status.example.com", APINames: []string{"ok.example", "http://x/"}},
			[]string{"api_auth_failures -1", `status_url "status.example.com": want the page's public URL`, `api_names: "http://x/" is not a host name`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
	ok := Config{NodeID: "a", Datacenter: "x", RaftAddr: "10.0.0.1:7001", Peers: []Peer{{"a", "10.0.0.1:7001"}}, DataDir: "/tmp/x", DNSAddr: "10.0.0.1:53", APIAddr: "10.0.0.1:80", Insecure: true}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid --insecure settings refused: %v", err)
	}
	for _, ok := range []Config{
		{NodeID: "a", Datacenter: "x", RaftAddr: "127.0.0.1:7001", Peers: []Peer{{"a", "127.0.0.1:7001"}}, DataDir: "/tmp/x", DNSAddr: "127.0.0.1:53", APIAddr: "127.0.0.1:80", Insecure: true},
		{Dev: true, RaftAddr: "127.0.0.1:7001", DNSAddr: "0.0.0.0:5353", APIAddr: "127.0.0.1:0", Spec: "x"},
		{Dev: true, DNSAddr: "127.0.0.1:0", APIAddr: "0.0.0.0:8053", Spec: "x", Insecure: true},
	} {
		if err := ok.Validate(); err != nil {
			t.Errorf("valid settings refused: %+v: %v", ok, err)
		}
	}
}

func TestRaftSettings(t *testing.T) {
	file := filepath.Join(t.TempDir(), "node.yaml")
	if err := os.WriteFile(file, []byte("node_id: a\nraft:\n  heartbeat_timeout: 2s\n  election_timeout: 2s\n  leader_lease_timeout: 1s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tm := c.timing()
	if tm.HeartbeatTimeout != 2*time.Second || tm.LeaderLeaseTimeout != time.Second || tm.CommitTimeout != 50*time.Millisecond {
		t.Errorf("timing from the node file: %+v", tm)
	}
	bad := Config{Dev: true, DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", Spec: "x"}
	bad.Raft.LeaderLeaseTimeout = spec.Duration(time.Second)
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "--raft-leader-lease 1s must not exceed --raft-heartbeat-timeout 500ms") {
		t.Errorf("lease above heartbeat: %v", err)
	}
}
