package node

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/internal/testutil"
)

// A dev node answers the dev spec's records over DNS from its first second,
// and reports itself ready.
func TestDevNodeServes(t *testing.T) {
	n, err := Start(Config{Dev: true, DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", Spec: "../../examples/dev/spec.yaml"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	if got := strings.TrimSpace(testutil.Dig(t, n.DNSAddr(), "+short", "www.dev.test", "A")); got != "127.0.0.11" {
		t.Errorf("www.dev.test = %q, want 127.0.0.11", got)
	}
	if got := testutil.Dig(t, n.DNSAddr(), "+tcp", "nope.dev.test", "A"); !strings.Contains(got, "status: NXDOMAIN") {
		t.Errorf("nope.dev.test over TCP:\n%s", got)
	}
	resp, err := http.Get("http://" + n.APIAddr() + "/v1/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/v1/ready = %d", resp.StatusCode)
	}
	resp, err = http.Get("http://" + n.APIAddr() + "/v1/records")
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

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"empty production node", Config{}, []string{"--node-id is required", "--datacenter is required", "--raft-addr is required", "--peers is required", "--data-dir is required", "--dns-addr is required", "--api-addr is required"}},
		{"peer list without this node", Config{NodeID: "a", Datacenter: "x", RaftAddr: "127.0.0.1:7001", Peers: []Peer{{"b", "127.0.0.1:7002"}}, DataDir: "/tmp/x", DNSAddr: "127.0.0.1:53", APIAddr: "127.0.0.1:80"}, []string{"--peers does not list this node (a)"}},
		{"plaintext off loopback", Config{NodeID: "a", Datacenter: "x", RaftAddr: "10.0.0.1:7001", Peers: []Peer{{"a", "10.0.0.1:7001"}}, DataDir: "/tmp/x", DNSAddr: "10.0.0.1:53", APIAddr: "127.0.0.1:80"}, []string{`--raft-addr "10.0.0.1:7001" is not on loopback`}},
		{"half the TLS settings", Config{NodeID: "a", Datacenter: "x", RaftAddr: "127.0.0.1:7001", Peers: []Peer{{"a", "127.0.0.1:7001"}}, DataDir: "/tmp/x", DNSAddr: "127.0.0.1:53", APIAddr: "127.0.0.1:80", TLSCA: "ca.pem"}, []string{"TLS needs all of --tls-ca, --tls-cert and --tls-key (1 of 3 given)"}},
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
}
