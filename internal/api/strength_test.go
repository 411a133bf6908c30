package api_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/node"
)

func TestTokenBits(t *testing.T) {
	cases := []struct {
		name, token string
		strong      bool
	}{
		{"the audit's admin token", "7", false},
		{"16 hex digits (the old minimum)", "0a426b4e7f5b4c7d", false},
		{"31 hex digits", "0a426b4e7f5b4c7d5dd01f87fb676d3", false},
		{"32 hex digits", "0a426b4e7f5b4c7d5dd01f87fb676d3e", true},
		{"32 upper-case hex digits", "0A426B4E7F5B4C7D5DD01F87FB676D3E", true},
		{"openssl rand -hex 32", "0a426b4e7f5b4c7d5dd01f87fb676d3e659196f559cc6667f63b164faee17548", true},
		{"22 base64 characters", "q3V9xLmT2pZ8rWc7YkN4bA", true},
		{"openssl rand -base64 32", "Hk3wq9Zt0yE7mR5xN2vB8cL4pJ6sD1fG0aQ9uT3eW7o=", true},
		{"39 decimal digits", "202528809618130120351450480095935467639", true},
		{"38 decimal digits", "20252880961813012035145048009593546763", false},
		{"a repeated word", strings.Repeat("Summer2024!", 6), false},
		{"one character repeated", strings.Repeat("a", 64), false},
		{"few distinct characters", strings.Repeat("abcabcd", 10) + "e", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bits := api.TokenBits(c.token)
			if (bits >= api.MinTokenBits) != c.strong {
				t.Errorf("%q: %.1f bits, strong should be %v", c.token, bits, c.strong)
			}
		})
	}
}

// A weak token keeps a node from starting, from each place tokens come
// from, and the error names the token and says what is needed, never
// the secret.
func TestWeakTokenRefusesStart(t *testing.T) {
	const need = "at least 128 bits are needed: 32 random hex digits or 22 random base64 characters"
	file := filepath.Join(t.TempDir(), "tokens.yaml")
	if err := os.WriteFile(file, []byte("tokens:\n  - {name: deploy, scope: admin, token: hunter2hunter2hunter2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	specFile := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(specFile, []byte(specText(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	env, envErr := api.ParseTokensEnv("ci:read:" + strings.Repeat("ab", 32) + ",oncall:operate:7")
	if envErr == nil || !strings.Contains(envErr.Error(), `DETOUR_API_TOKENS: API token too weak:`) ||
		!strings.Contains(envErr.Error(), `token "oncall" has about 0 bits of entropy (1 characters); `+need) {
		t.Errorf("DETOUR_API_TOKENS with a weak token: %v, %v", env, envErr)
	}
	inCode := &api.Tokens{}
	inCode.Add("admin", api.ScopeAdmin, "7")
	for _, c := range []struct {
		name string
		cfg  node.Config
		want string
	}{
		{"tokens file", node.Config{APITokens: file}, `tokens[0].token: token "deploy" has about`},
		{"tokens given to the node", node.Config{Tokens: inCode}, `token "admin" has about 0 bits`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg
			cfg.Dev, cfg.DNSAddr, cfg.APIAddr, cfg.Spec = true, "127.0.0.1:0", "127.0.0.1:0", specFile
			n, err := node.Start(cfg, slog.New(slog.DiscardHandler))
			if err == nil {
				n.Close(context.Background())
				t.Fatal("the node started with a weak token")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), need) {
				t.Errorf("the error lacks %q and %q:\n%v", c.want, need, err)
			}
			if c.name == "tokens given to the node" && !errors.Is(err, api.ErrWeakToken) {
				t.Errorf("not ErrWeakToken: %v", err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error quotes the secret: %v", err)
			}
		})
	}
}
