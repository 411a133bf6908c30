package api_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/internal/api"
)

func TestLoadTokens(t *testing.T) {
	cases := []struct {
		name, file string
		want       []string // substrings of the error; none: valid
	}{
		{"valid", "tokens:\n  - {name: a, scope: read, token: 0a426b4e7f5b4c7d5dd01f87fb676d3e}\n  - {name: b, scope: admin, sha256: " + strings.Repeat("ab", 32) + "}\n", nil},
		{"every problem", `tokens:
  - {scope: read, token: 0a426b4e7f5b4c7d5dd01f87fb676d3e}
  - {name: b, scope: root, token: 659196f559cc6667f63b164faee17548}
  - {name: c, scope: read, token: short}
  - {name: c, scope: read}
  - {name: e, scope: read, sha256: nothex}
`, []string{"tokens[0].name is required", `tokens[1].scope "root": want read, operate, admin or heartbeat`, `tokens[2].token: token "c" has about 0 bits of entropy (5 characters); at least 128 bits are needed`, `tokens[3].name "c" is used twice`, "tokens[3]: token or sha256 is required", "tokens[4].sha256: want 64 hex digits"}},
		{"unknown key", "tokens:\n  - {name: a, scope: read, secret: x}\n", []string{"field secret not found"}},
		{"bound heartbeat token", "tokens:\n  - {name: a, scope: heartbeat, checks: [nightly], token: 0a426b4e7f5b4c7d5dd01f87fb676d3e}\n  - {name: b, scope: heartbeat, checks: [nightly], endpoints: [192.0.2.50], token: 659196f559cc6667f63b164faee17548}\n", nil},
		{"unbound heartbeat token", `tokens:
  - {name: a, scope: heartbeat, token: 0a426b4e7f5b4c7d5dd01f87fb676d3e}
  - {name: b, scope: operate, checks: [nightly], token: 659196f559cc6667f63b164faee17548}
`, []string{"tokens[0].checks is required for a heartbeat token", "tokens[1]: checks and endpoints bind heartbeat tokens only"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokens.yaml")
			if err := os.WriteFile(path, []byte(c.file), 0o600); err != nil {
				t.Fatal(err)
			}
			toks, err := api.LoadTokens(path)
			if c.want == nil {
				if err != nil || toks.Len() != 2 {
					t.Fatalf("%v, %d tokens", err, toks.Len())
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error lacks %q:\n%v", w, err)
				}
			}
		})
	}
	toks, err := api.ParseTokensEnv("ci:read:0a426b4e7f5b4c7d5dd01f87fb676d3e, cron:heartbeat=nightly+weekly:659196f559cc6667f63b164faee17548")
	if err != nil || toks.Len() != 2 {
		t.Errorf("env: %v, %d", err, toks.Len())
	}
	// A heartbeat token must say which checks it beats.
	if _, err := api.ParseTokensEnv("cron:heartbeat:fedcba9876543210"); err == nil || !strings.Contains(err.Error(), "cron:heartbeat=CHECK+CHECK:TOKEN") {
		t.Errorf("env heartbeat token without checks: %v", err)
	}
	if _, err := api.ParseTokensEnv("just-a-token"); err == nil {
		t.Error("env without name and scope accepted")
	}
}

// Without tokens the API refuses to listen beyond loopback (the check
// comes before any bind).
func TestNoTokensLoopbackOnly(t *testing.T) {
	n, _ := startNode(t, specText(t), nil)
	s, err := api.New(api.Options{Store: n.Store()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("0.0.0.0:0"); !errors.Is(err, api.ErrNoTokens) {
		t.Fatalf("listening on 0.0.0.0 without tokens: %v", err)
	}
	toks := &api.Tokens{}
	toks.Add("a", api.ScopeRead, "0a426b4e7f5b4c7d5dd01f87fb676d3e")
	s, err = api.New(api.Options{Store: n.Store(), Tokens: toks})
	if err != nil {
		t.Fatal(err)
	}
	// (Tests bind loopback only: with tokens, the check passes before
	// any listening, so loopback shows it.)
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("with tokens: %v", err)
	}
	s.Shutdown(t.Context())
}
