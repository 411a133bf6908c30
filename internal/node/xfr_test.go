package node

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
)

// A dev node as hidden primary: Knot DNS slaves dev.test from it and,
// told by NOTIFY, follows a failover driven by real health checks through
// the Raft log.
func TestDevNodeHiddenPrimary(t *testing.T) {
	devSpec, err := os.ReadFile("../../examples/dev/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	knotPort := testutil.FreePort(t)
	eastPort := testutil.FreePort(t)
	text := strings.Replace(string(devSpec), "127.0.0.1:18111", fmt.Sprintf("127.0.0.1:%d", eastPort), 1)
	text = strings.Replace(text, "127.0.0.1:18112", fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)), 1)
	text = strings.Replace(text, "127.0.0.1:18113", fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)), 1)
	text = strings.Replace(text, "    nameservers: [ns1.dev.test.]\n", fmt.Sprintf(
		"    nameservers: [ns1.dev.test.]\n    allow_transfer: [127.0.0.1]\n    also_notify: ['127.0.0.1:%d']\n", knotPort), 1)
	specFile := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(specFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := Start(Config{Dev: true, DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", Spec: specFile}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	waitReady(t, n.APIAddr())
	knot := testutil.StartKnotSecondary(t, testutil.Secondary{Zone: "dev.test.", Primary: n.DNSAddr(), Port: knotPort})
	www := func() string { return strings.TrimSpace(testutil.Dig(t, knot, "+short", "www.dev.test", "A")) }
	testutil.Eventually(t, "Knot to transfer dev.test", 10*time.Second, func() bool { return www() == "127.0.0.99" })
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
	testutil.Eventually(t, "detour to fail over to the east site", 10*time.Second, func() bool {
		return strings.TrimSpace(testutil.Dig(t, n.DNSAddr(), "+short", "www.dev.test", "A")) == "127.0.0.11"
	})
	// Knot's SOA refresh is an hour away: only the NOTIFY brings it here.
	start := time.Now()
	testutil.Eventually(t, "Knot to follow the failover", 5*time.Second, func() bool { return www() == "127.0.0.11" })
	t.Logf("Knot followed %s after detour answered", time.Since(start).Round(time.Millisecond))
}
