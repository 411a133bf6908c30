package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
)

// TestNodeNotifyGuarded replays the audit's attack on a running node: the
// spec's also_notify names a loopback listener and the cloud metadata
// address. A node whose dns_peer_allow_networks is set but empty sends
// neither a packet; a dev node (loopback allowed by default) NOTIFYs the
// loopback listener.
func TestNodeNotifyGuarded(t *testing.T) {
	target, got := testutil.CountUDP(t)
	devSpec, err := os.ReadFile("../../examples/dev/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(devSpec), "    nameservers: [ns1.dev.test.]\n", fmt.Sprintf(
		"    nameservers: [ns1.dev.test.]\n    also_notify: ['%s', '169.254.169.254:53']\n", target), 1)
	specFile := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(specFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	start := func(allow []string) *Node {
		n, err := Start(Config{Dev: true, DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", Spec: specFile,
			DNSPeerAllowNetworks: allow}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = n.Close(context.Background()) })
		return n
	}

	guarded := start([]string{})
	testutil.Eventually(t, "both NOTIFYs refused", 10*time.Second, func() bool { return guarded.dns.NotifiesRefused() >= 2 })
	if n := got.Load(); n != 0 {
		t.Fatalf("%d NOTIFY packets reached loopback from a node that does not allow it", n)
	}
	resp, err := http.Get("http://" + guarded.APIAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`(?m)^detour_dns_notify_refused_total [2-9]`).Match(body) {
		t.Errorf("/metrics does not count the refused NOTIFYs:\n%s", grepLines(string(body), "notify"))
	}

	start(nil) // --dev: loopback allowed
	testutil.Eventually(t, "a NOTIFY from the dev node", 10*time.Second, func() bool { return got.Load() > 0 })
}

func TestDNSPeerAllowNetworksValidated(t *testing.T) {
	c := Config{DNSPeerAllowNetworks: []string{"loopback"}}
	if _, err := c.dnsPeerAllowNetworks(); err == nil || !strings.Contains(err.Error(), `dns_peer_allow_networks: "loopback"`) {
		t.Errorf("err = %v, want one naming the setting and the bad entry", err)
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
