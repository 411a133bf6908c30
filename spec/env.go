package spec

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// The default prefixes of the environment variables a spec may name, one
// per use. A spec is written by whoever holds an admin token, and each
// use sends a secret somewhere the spec chooses to a different degree: a
// check header goes to any target, a notification secret to any channel
// URL, a provider credential only to its provider's endpoint. So a
// variable is bound to one use by its prefix: a provider's token can
// never be named in a check header or a notification.
const (
	// DefaultEnvPrefix is the prefix of the variables providers and TSIG
	// keys may name (node setting spec_env_prefixes), less those under
	// the check and notification prefixes.
	DefaultEnvPrefix = "DETOUR_"
	// DefaultCheckEnvPrefix is the prefix of the variables a check's
	// headers_env may name (node setting check_env_prefixes).
	DefaultCheckEnvPrefix = "DETOUR_CHECK_"
	// DefaultNotifyEnvPrefix is the prefix of the variables a
	// notification channel's secrets may name (node setting
	// notify_env_prefixes).
	DefaultNotifyEnvPrefix = "DETOUR_NOTIFY_"
)

// ReservedEnv are detour's own secrets (the node's API tokens, the CLI's
// token): no spec may name them, whatever prefixes a node allows.
var ReservedEnv = []string{"DETOUR_API_TOKENS", "DETOUR_TOKEN"}

// ErrEnvNotAllowed: a spec names an environment variable the node does
// not let it read for that use.
var ErrEnvNotAllowed = errors.New("environment variable not allowed")

// EnvUse is what a spec names an environment variable for.
type EnvUse int

// The uses of a variable a spec names.
const (
	// EnvProvider: a provider's api_token_env or tsig_secret_env, a
	// zone's TSIG key secret_env.
	EnvProvider EnvUse = iota
	// EnvCheck: a check's headers_env.
	EnvCheck
	// EnvNotify: a notification channel's secret_env, routing_key_env,
	// smtp.password_env.
	EnvNotify
)

// String names the use as the docs do.
func (u EnvUse) String() string {
	switch u {
	case EnvCheck:
		return "check headers"
	case EnvNotify:
		return "notification secrets"
	default:
		return "provider and TSIG secrets"
	}
}

// EnvPolicy is which variables a node lets a spec name, per use. Empty
// lists mean the defaults.
type EnvPolicy struct {
	// Spec are the prefixes providers and TSIG keys may name
	// (spec_env_prefixes; default DETOUR_), less any variable under
	// Check or Notify.
	Spec []string
	// Check are the prefixes headers_env may name (check_env_prefixes;
	// default DETOUR_CHECK_).
	Check []string
	// Notify are the prefixes notification secrets may name
	// (notify_env_prefixes; default DETOUR_NOTIFY_).
	Notify []string
}

func orDefault(p []string, def string) []string {
	if len(p) == 0 {
		return []string{def}
	}
	return p
}

func hasPrefix(name string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name, p) })
}

// prefixes returns the prefixes of use and the node setting naming them.
func (p EnvPolicy) prefixes(use EnvUse) ([]string, string) {
	switch use {
	case EnvCheck:
		return orDefault(p.Check, DefaultCheckEnvPrefix), "check_env_prefixes"
	case EnvNotify:
		return orDefault(p.Notify, DefaultNotifyEnvPrefix), "notify_env_prefixes"
	default:
		return orDefault(p.Spec, DefaultEnvPrefix), "spec_env_prefixes"
	}
}

// Allow says why a spec may not name the variable name for use on a node
// with this policy, or nil. A variable is allowed for one use at most:
// one under the check prefixes is refused to notifications and
// providers, one under the notification prefixes to checks and
// providers.
func (p EnvPolicy) Allow(use EnvUse, name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty name", ErrEnvNotAllowed)
	}
	if slices.Contains(ReservedEnv, name) {
		return fmt.Errorf("%w: %s is detour's own secret, which no spec may read", ErrEnvNotAllowed, excerpt(name))
	}
	// The check and notification prefixes claim their variables for
	// their own use alone.
	for _, other := range []EnvUse{EnvCheck, EnvNotify} {
		if other == use {
			continue
		}
		if prefixes, setting := p.prefixes(other); hasPrefix(name, prefixes) {
			return fmt.Errorf("%w: %s is reserved for %s (prefix %s, node setting %s) and may not serve as one of the %s",
				ErrEnvNotAllowed, excerpt(name), other, strings.Join(prefixes, " or "), setting, use)
		}
	}
	if prefixes, setting := p.prefixes(use); !hasPrefix(name, prefixes) {
		return fmt.Errorf("%w: %s lacks the prefix %s that this node allows for %s (node setting %s)",
			ErrEnvNotAllowed, excerpt(name), strings.Join(prefixes, " or "), use, setting)
	}
	return nil
}

// Validate says why the policy could let a variable serve two uses: the
// check and notification prefixes must be non-empty and must not
// overlap.
func (p EnvPolicy) Validate() error {
	checks, _ := p.prefixes(EnvCheck)
	notifies, _ := p.prefixes(EnvNotify)
	for _, c := range checks {
		for _, n := range notifies {
			if c == "" || n == "" || strings.HasPrefix(c, n) || strings.HasPrefix(n, c) {
				return fmt.Errorf("check_env_prefixes %q and notify_env_prefixes %q overlap: a variable could serve both a check header and a notification", c, n)
			}
		}
	}
	return nil
}

// EnvRef is an environment variable a spec names, with where and for
// what.
type EnvRef struct {
	Path string // e.g. "providers[0].api_token_env"
	Name string
	Use  EnvUse
}

// EnvRefs lists every environment variable the spec names: provider
// secrets, TSIG keys, notification secrets and check headers.
func (s *Spec) EnvRefs() []EnvRef {
	var out []EnvRef
	add := func(use EnvUse, path, name string) {
		if name != "" {
			out = append(out, EnvRef{Path: path, Name: name, Use: use})
		}
	}
	for i, p := range s.Providers {
		add(EnvProvider, fmt.Sprintf("providers[%d].api_token_env", i), p.APITokenEnv)
		add(EnvProvider, fmt.Sprintf("providers[%d].tsig_secret_env", i), p.TSIGSecretEnv)
	}
	for i, z := range s.Zones {
		for j, k := range z.TSIGKeys {
			add(EnvProvider, fmt.Sprintf("zones[%d].tsig_keys[%d].secret_env", i, j), k.SecretEnv)
		}
	}
	if s.Notifications != nil {
		for i, c := range s.Notifications.Channels {
			path := fmt.Sprintf("notifications.channels[%d]", i)
			add(EnvNotify, path+".secret_env", c.SecretEnv)
			add(EnvNotify, path+".routing_key_env", c.RoutingKeyEnv)
			if c.SMTP != nil {
				add(EnvNotify, path+".smtp.password_env", c.SMTP.PasswordEnv)
			}
		}
	}
	for i, c := range s.Checks {
		headers := make([]string, 0, len(c.HeadersEnv))
		for h := range c.HeadersEnv {
			headers = append(headers, h)
		}
		sort.Strings(headers)
		for _, h := range headers {
			add(EnvCheck, fmt.Sprintf("checks[%d].headers_env.%s", i, h), c.HeadersEnv[h])
		}
	}
	return out
}

// lintEnvNames warns of a variable a node with the default settings
// would refuse to read for its use.
func (s *Spec) lintEnvNames() []Problem {
	var out []Problem
	for _, r := range s.EnvRefs() {
		if err := (EnvPolicy{}).Allow(r.Use, r.Name); err != nil {
			why := strings.TrimPrefix(err.Error(), ErrEnvNotAllowed.Error()+": ")
			out = append(out, Problem{Path: r.Path, Message: "a node with default settings refuses to read it: " + why})
		}
	}
	return out
}
