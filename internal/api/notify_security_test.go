package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/api/wire"
	"github.com/seed3787e6f1/detour/internal/node"
)

// applyNotifying applies, with the admin token, the test spec plus
// webhook channels posting to the given URLs (name: url).
func applyNotifying(t *testing.T, base string, hooks [][2]string) {
	t.Helper()
	text := specText(t) + "notifications:\n  channels:\n"
	for _, h := range hooks {
		text += fmt.Sprintf("    - {name: %s, type: webhook, url: %q}\n", h[0], h[1])
	}
	if code, body := call(t, base, "PUT", "/v1/spec", tokAdmin, api.SpecRequest{YAML: text}); code != http.StatusOK {
		t.Fatalf("PUT /v1/spec: %d %s", code, body)
	}
}

// cursorsWhen polls /v1/status with a read token until ok holds for the
// notification cursors of every name given.
func cursorsWhen(t *testing.T, base string, names []string, ok func(wire.NotifyCursor) bool) map[string]wire.NotifyCursor {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var st api.Status
		code, body := call(t, base, "GET", "/v1/status", tokRead, nil)
		if code == http.StatusOK && json.Unmarshal(body, &st) == nil {
			got := map[string]wire.NotifyCursor{}
			for _, c := range st.Notifications {
				if ok(c) {
					got[c.Channel] = c
				}
			}
			if len(got) == len(names) {
				return got
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/v1/status never showed the cursors of %v as wanted: %d %s", names, code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The audit's attack on notifications, replayed on a running node that
// allows no loopback (as a production node allows no metadata address):
// an admin points webhooks at the metadata service (its stand-in on
// loopback) and at the node's own API. Neither is connected to; each
// channel's error, which a read token sees in /v1/status (and `detour
// status`), names the refused address and notify_allow_networks.
func TestNotificationCannotReachMetadataOrOwnAPI(t *testing.T) {
	addr, conns := metadataStandIn(t)
	_, base := startNodeWith(t, specText(t), testTokens(), func(c *node.Config) {
		c.NotifyAllowNetworks = []string{"192.0.2.0/24"} // not loopback
	})
	hooks := [][2]string{
		{"metadata", "http://" + addr + "/latest/meta-data/iam/security-credentials/"},
		{"self", base + "/v1/overrides/drain"},
	}
	applyNotifying(t, base, hooks)
	refused := "target address 127.0.0.1 is not allowed by this node's notify_allow_networks (nothing was sent)"
	got := cursorsWhen(t, base, []string{"metadata", "self"}, func(c wire.NotifyCursor) bool {
		return strings.Contains(c.Error, refused)
	})
	for name, c := range got {
		t.Logf("%s: %s", name, c.Error)
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("the metadata stand-in accepted %d connections", n)
	}
}

// A node that allows loopback (--dev does) delivers to the same
// receiver: the refusal above was the node's setting, not a dead server.
func TestNotificationAllowedNetworkDelivers(t *testing.T) {
	addr, conns := metadataStandIn(t)
	_, base := startNode(t, specText(t), testTokens())
	applyNotifying(t, base, [][2]string{{"metadata", "http://" + addr + "/latest/meta-data/"}})
	cursorsWhen(t, base, []string{"metadata"}, func(c wire.NotifyCursor) bool {
		return c.Seq > 0 && c.Error == ""
	})
	if conns.Load() == 0 {
		t.Error("the allowed delivery never reached the stand-in")
	}
}
