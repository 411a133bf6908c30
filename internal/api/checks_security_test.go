package api_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/node"
)

// metadataSecret is what the stand-in for the cloud metadata service
// serves: an access key pair.
const metadataSecret = "AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

// metadataStandIn serves metadataSecret on loopback (a test cannot bind
// 169.254.169.254; loopback is refused by the same rule) and counts the
// connections it accepted.
func metadataStandIn(t *testing.T) (addr string, conns *atomic.Int64) {
	t.Helper()
	conns = &atomic.Int64{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, metadataSecret)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), conns
}

// metadataSpec is the test spec with its check turned into the attack's:
// an http check of the metadata credentials path whose expect_body does
// not match, so the reason is where an excerpt of the body would show.
func metadataSpec(t *testing.T, addr string) string {
	t.Helper()
	s := specText(t, addr, addr, addr)
	check := "{name: web, type: tcp, interval: 200ms, timeout: 100ms, rise: 1, fall: 1}"
	if !strings.Contains(s, check) {
		t.Fatal("testdata/spec.yaml changed: update metadataSpec")
	}
	return strings.Replace(s, check, "{name: web, type: http, path: /latest/meta-data/iam/security-credentials/, expect_body: nothing-like-this, interval: 200ms, timeout: 100ms, rise: 1, fall: 1}", 1)
}

// statusWhen polls /v1/status with a read token until it holds want.
func statusWhen(t *testing.T, base, want string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := call(t, base, "GET", "/v1/status", tokRead, nil)
		if code == http.StatusOK && strings.Contains(string(body), want) {
			return string(body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("/v1/status never showed %q: %d %s", want, code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The audit's attack, replayed on a node that allows no loopback (as a
// production node allows no metadata address): the check never connects,
// and the reason a read token sees says why in fixed words.
func TestCheckCannotReachMetadata(t *testing.T) {
	addr, conns := metadataStandIn(t)
	_, base := startNodeWith(t, metadataSpec(t, addr), testTokens(), func(c *node.Config) {
		c.CheckAllowNetworks = []string{"192.0.2.0/24"} // not loopback
	})
	body := statusWhen(t, base, "target address 127.0.0.1 is not allowed by this node's check_allow_networks")
	if strings.Contains(body, "AKIA") {
		t.Errorf("/v1/status holds the secret:\n%s", body)
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("the metadata stand-in accepted %d connections", n)
	}
}

// Where the node does allow the address (dev allows loopback), the check
// reaches it, but its reason quotes none of the body: the audit read 36
// bytes of the credentials from the reasons in /v1/status.
func TestCheckReasonQuotesNoBody(t *testing.T) {
	addr, conns := metadataStandIn(t)
	_, base := startNode(t, metadataSpec(t, addr), testTokens())
	body := statusWhen(t, base, `body does not contain \"nothing-like-this\"`)
	for _, part := range []string{"AKIA", "EXAMPLE", "got "} {
		if strings.Contains(body, part) {
			t.Errorf("/v1/status quotes the response (%q):\n%s", part, body)
		}
	}
	if conns.Load() == 0 {
		t.Error("the check never reached the stand-in: the test proves nothing")
	}
}
