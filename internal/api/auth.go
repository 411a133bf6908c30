package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/seed3787e6f1/detour/health"
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
	// Checks are the heartbeat checks a heartbeat token may beat ("*":
	// every one); Endpoints, when set, narrow it to those endpoints. A
	// heartbeat token bound to nothing beats nothing. Tokens of the other
	// scopes may beat every check.
	Checks    []string
	Endpoints []string
}

// AnyCheck in a token's checks lets it beat every heartbeat check.
const AnyCheck = "*"

// MayBeat reports whether the token may beat the endpoint of check; the
// endpoint is compared as the spec writes addresses.
func (t Token) MayBeat(check, endpoint string) bool {
	if t.Scope != ScopeHeartbeat {
		return t.Scope.allows(ScopeHeartbeat)
	}
	if !slices.Contains(t.Checks, check) && !slices.Contains(t.Checks, AnyCheck) {
		return false
	}
	if len(t.Endpoints) == 0 {
		return true
	}
	want := health.CanonicalEndpoint(endpoint)
	return slices.ContainsFunc(t.Endpoints, func(e string) bool { return health.CanonicalEndpoint(e) == want })
}

// bound describes what a heartbeat token may beat, for a refusal.
func (t Token) bound() string {
	if len(t.Checks) == 0 {
		return "no check (its entry in the tokens file needs checks: [...])"
	}
	s := "checks " + strings.Join(t.Checks, ", ")
	if len(t.Endpoints) > 0 {
		s += " at endpoints " + strings.Join(t.Endpoints, ", ")
	}
	return s
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

// Add accepts a token. A heartbeat token added this way beats nothing:
// use AddToken to bind it to checks.
func (t *Tokens) Add(name string, scope Scope, secret string) {
	t.AddToken(Token{Name: name, Scope: scope}, secret)
}

// AddToken accepts a token with its bindings.
func (t *Tokens) AddToken(tok Token, secret string) {
	t.addHash(tok, sha256.Sum256([]byte(secret)))
	t.noteStrength(tok.Name, secret)
}

func (t *Tokens) addHash(tok Token, h [32]byte) {
	if t.byHash == nil {
		t.byHash = map[[32]byte]Token{}
	}
	t.byHash[h] = tok
}

// Merge adds every token of o.
func (t *Tokens) Merge(o *Tokens) {
	if o == nil {
		return
	}
	for h, tok := range o.byHash {
		t.addHash(tok, h)
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
//	  - {name: backup-cron, scope: heartbeat, checks: [backup], token: "..."}
type tokenFile struct {
	Tokens []struct {
		Name      string   `yaml:"name"`
		Scope     string   `yaml:"scope"`
		Token     string   `yaml:"token"`
		SHA256    string   `yaml:"sha256"`
		Checks    []string `yaml:"checks"`
		Endpoints []string `yaml:"endpoints"`
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
		tok := Token{Name: e.Name, Scope: scope, Checks: e.Checks, Endpoints: e.Endpoints}
		problems = append(problems, bindingProblems(at, tok)...)
		switch {
		case e.Token != "" && e.SHA256 != "":
			problems = append(problems, at+": give token or sha256, not both")
		case e.Token != "":
			if w := weakness(e.Name, e.Token); w != "" {
				problems = append(problems, at+".token: "+w)
			}
			t.AddToken(tok, e.Token)
		case e.SHA256 != "":
			b, err := hex.DecodeString(e.SHA256)
			if err != nil || len(b) != 32 {
				problems = append(problems, at+".sha256: want 64 hex digits (sha256sum of the token)")
				continue
			}
			t.addHash(tok, [32]byte(b))
		default:
			problems = append(problems, at+": token or sha256 is required")
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("api tokens %s:\n  %s", path, strings.Join(problems, "\n  "))
	}
	return t, nil
}

// bindingProblems checks what a token may beat: a heartbeat token must
// name its checks, and only a heartbeat token names any.
func bindingProblems(at string, tok Token) []string {
	switch {
	case tok.Scope == ScopeHeartbeat && len(tok.Checks) == 0:
		return []string{at + ".checks is required for a heartbeat token: the heartbeat checks it may beat, e.g. checks: [nightly-backup] ([\"*\"]: every one)"}
	case tok.Scope != ScopeHeartbeat && (len(tok.Checks) > 0 || len(tok.Endpoints) > 0):
		return []string{at + ": checks and endpoints bind heartbeat tokens only (a " + tok.Scope.String() + " token may beat every check)"}
	}
	return nil
}

// ParseTokensEnv reads tokens from the DETOUR_API_TOKENS format:
// NAME:SCOPE:TOKEN entries separated by commas or new lines. A heartbeat
// token names its checks in its scope: NAME:heartbeat=CHECK+CHECK:TOKEN.
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
		scopeName, checks, bound := strings.Cut(parts[1], "=")
		scope, err := ParseScope(scopeName)
		if err != nil {
			return nil, fmt.Errorf("DETOUR_API_TOKENS: %s: %w", parts[0], err)
		}
		tok := Token{Name: parts[0], Scope: scope}
		if bound {
			tok.Checks = strings.FieldsFunc(checks, func(r rune) bool { return r == '+' })
		}
		if p := bindingProblems(parts[0], tok); len(p) > 0 {
			return nil, fmt.Errorf("DETOUR_API_TOKENS: %s (here: %s:heartbeat=CHECK+CHECK:TOKEN)", p[0], parts[0])
		}
		t.AddToken(tok, parts[2])
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
