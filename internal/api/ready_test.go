package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/internal/api"
)

// The audit read node and leader IDs and the Raft address from an
// unauthenticated /v1/ready. Now a caller without a read token sees the
// status and a short reason only; a read token sees the details.
func TestReadyHidesTopologyWithoutToken(t *testing.T) {
	n, base := startNode(t, specText(t), testTokens())
	secrets := []string{n.Store().Addr(), `"dev"`, "leader", "freshness"}
	for _, c := range []struct{ name, token string }{{"no token", ""}, {"heartbeat token", tokBeat}, {"wrong token", "wrong-" + tokRead}} {
		t.Run(c.name, func(t *testing.T) {
			code, body := call(t, base, "GET", "/v1/ready", c.token, nil)
			if code != 200 || strings.TrimSpace(string(body)) != "{\n  \"status\": \"ready\"\n}" {
				t.Errorf("%d %s", code, body)
			}
			for _, s := range secrets {
				if strings.Contains(string(body), s) {
					t.Errorf("the reply reveals %q: %s", s, body)
				}
			}
		})
	}
	var full struct {
		Status    string        `json:"status"`
		Freshness api.Freshness `json:"freshness"`
	}
	getJSON(t, base, "/v1/ready", tokRead, &full)
	if full.Status != "ready" || full.Freshness.Node != "dev" || full.Freshness.Leader != n.Store().Addr() {
		t.Errorf("a read token does not see the details: %+v", full)
	}

	// Not ready: the reason, without details.
	s, err := api.New(api.Options{Store: n.Store(), Tokens: testTokens()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(t.Context()) })
	code, body := call(t, "http://"+s.Addr(), "GET", "/v1/ready", "", nil)
	var public map[string]string
	if err := json.Unmarshal(body, &public); err != nil || code != http.StatusServiceUnavailable ||
		public["status"] != "not ready" || public["why"] == "" || len(public) != 2 {
		t.Errorf("not ready: %d %s", code, body)
	}
}
