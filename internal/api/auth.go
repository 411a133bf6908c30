package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Scope is what a token may do. Each scope includes the ones before it:
// read < operate < admin. Heartbeat allows heartbeats only, so that a
// cron job's token cannot drain anything.
type Scope int

// The scopes.
const (
	ScopeNone Scope = iota
	ScopeHeartbeat
	ScopeRead
	ScopeOperate
	ScopeAdmin
)

var scopeNames = map[string]Scope{"heartbeat": ScopeHeartbeat, "read": ScopeRead, "operate": ScopeOperate, "admin": ScopeAdmin}

func (s Scope) String() string {
	for n, v := range scopeNames {
		if v == s {
			return n
		}
	}
	return "none"
}

// allows reports whether a token of scope s may do what needs want.
// Heartbeat sits apart: read does not include it, operate does.
func (s Scope) allows(want Scope) bool {
	if want == ScopeHeartbeat {
		return s == ScopeHeartbeat || s >= ScopeOperate
	}
	if s == ScopeHeartbeat {
		return false
	}
	return s >= want
}

// ParseScope reads a scope name.
func ParseScope(name string) (Scope, error) {
	if s, ok := scopeNames[strings.ToLower(strings.TrimSpace(name))]; ok {
		return s, nil
	}
	return ScopeNone, fmt.Errorf("scope %q: want read, operate, admin or heartbeat", name)
}

// Token is a named bearer token. Name is what the audit log records as
// the author of a change.
type Token struct {
	Name  string
	Scope Scope
}

// Tokens are the bearer tokens a node accepts, keyed by their SHA-256 so
// that a lookup does not compare secrets byte by byte.
type Tokens struct {
	byHash map[[32]byte]Token
	weak   []string // why each weak token is weak (strength.go)
}

// Len is the number of tokens.
func (t *Tokens) Len() int {
	if t == nil {
		return 0
	}
	return len(t.byHash)
}

// Add accepts a token.
func (t *Tokens) Add(name string, scope Scope, secret string) {
	if t.byHash == nil {
		t.byHash = map[[32]byte]Token{}
	}
	t.byHash[sha256.Sum256([]byte(secret))] = Token{Name: name, Scope: scope}
	t.noteStrength(name, secret)
}

func (t *Tokens) addHash(name string, scope Scope, h [32]byte) {
	if t.byHash == nil {
		t.byHash = map[[32]byte]Token{}
	}
	t.byHash[h] = Token{Name: name, Scope: scope}
}

// Merge adds every token of o.
func (t *Tokens) Merge(o *Tokens) {
	if o == nil {
		return
	}
	for h, tok := range o.byHash {
		t.addHash(tok.Name, tok.Scope, h)
	}
	t.weak = append(t.weak, o.weak...)
}

func (t *Tokens) lookup(secret string) (Token, bool) {
	if t == nil {
		return Token{}, false
	}
	tok, ok := t.byHash[sha256.Sum256([]byte(secret))]
	return tok, ok
}

// tokenFile is the tokens file:
//
//	tokens:
//	  - {name: oncall, scope: operate, token: "..."}
//	  - {name: deploy, scope: admin, sha256: "<hex of the token's SHA-256>"}
type tokenFile struct {
	Tokens []struct {
		Name   string `yaml:"name"`
		Scope  string `yaml:"scope"`
		Token  string `yaml:"token"`
		SHA256 string `yaml:"sha256"`
	} `yaml:"tokens"`
}

// LoadTokens reads a tokens file (YAML, unknown keys are errors) and
// reports every problem with its path.
func LoadTokens(path string) (*Tokens, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("api tokens: %w", err)
	}
	var f tokenFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("api tokens %s: %w", path, err)
	}
	t := &Tokens{}
	var problems []string
	names := map[string]bool{}
	for i, e := range f.Tokens {
		at := fmt.Sprintf("tokens[%d]", i)
		if e.Name == "" {
			problems = append(problems, at+".name is required: it names the author of every change made with the token")
		} else if names[e.Name] {
			problems = append(problems, fmt.Sprintf("%s.name %q is used twice", at, e.Name))
		}
		names[e.Name] = true
		scope, err := ParseScope(e.Scope)
		if err != nil {
			problems = append(problems, at+"."+err.Error())
		}
		switch {
		case e.Token != "" && e.SHA256 != "":
			problems = append(problems, at+": give token or sha256, not both")
		case e.Token != "":
			if w := weakness(e.Name, e.Token); w != "" {
				problems = append(problems, at+".token: "+w)
			}
			t.Add(e.Name, scope, e.Token)
		case e.SHA256 != "":
			b, err := hex.DecodeString(e.SHA256)
			if err != nil || len(b) != 32 {
				problems = append(problems, at+".sha256: want 64 hex digits (sha256sum of the token)")
				continue
			}
			t.addHash(e.Name, scope, [32]byte(b))
		default:
			problems = append(problems, at+": token or sha256 is required")
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("api tokens %s:\n  %s", path, strings.Join(problems, "\n  "))
	}
	return t, nil
}

// ParseTokensEnv reads tokens from the DETOUR_API_TOKENS format:
// NAME:SCOPE:TOKEN entries separated by commas or new lines.
func ParseTokensEnv(s string) (*Tokens, error) {
	t := &Tokens{}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' })
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		parts := strings.SplitN(f, ":", 3)
		if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
			return nil, fmt.Errorf("DETOUR_API_TOKENS: an entry is not NAME:SCOPE:TOKEN (e.g. oncall:operate:6f1c...)")
		}
		scope, err := ParseScope(parts[1])
		if err != nil {
			return nil, fmt.Errorf("DETOUR_API_TOKENS: %s: %w", parts[0], err)
		}
		t.Add(parts[0], scope, parts[2])
	}
	if err := t.Weak(); err != nil {
		return nil, fmt.Errorf("DETOUR_API_TOKENS: %w", err)
	}
	return t, nil
}

// auth wraps a handler with the scope it needs. With no tokens at all
// (dev, demo, loopback only: Start refuses otherwise) every request is
// allowed as the local operator.
func (s *Server) auth(need Scope, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.tokens.Len() == 0 {
			h(w, r.WithContext(withCaller(r.Context(), Token{Name: "local", Scope: ScopeAdmin})))
			return
		}
		tok, ok := s.authenticate(w, r, need)
		if !ok {
			return
		}
		if !tok.Scope.allows(need) {
			s.forbidden(w, r, tok, need)
			return
		}
		h(w, r.WithContext(withCaller(r.Context(), tok)))
	}
}
