package spec

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// DefaultEnvPrefix is the prefix the environment variables a spec names
// must carry unless the node allows others (spec_env_prefixes): a spec
// names the variables that hold its secrets, and without an allow-list
// it could name any secret of the node process (its API tokens).
const DefaultEnvPrefix = "DETOUR_"

// ReservedEnv are detour's own secrets (the node's API tokens, the CLI's
// token): no spec may name them, whatever prefixes a node allows.
var ReservedEnv = []string{"DETOUR_API_TOKENS", "DETOUR_TOKEN"}

// EnvAllowed reports whether a spec may make a node read the environment
// variable name: whether name starts with one of prefixes, or with
// DefaultEnvPrefix when prefixes is empty, and is not one of ReservedEnv.
func EnvAllowed(name string, prefixes []string) bool {
	if len(prefixes) == 0 {
		prefixes = []string{DefaultEnvPrefix}
	}
	return name != "" && !slices.Contains(ReservedEnv, name) &&
		slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name, p) })
}

// EnvRef is an environment variable a spec names, with where.
type EnvRef struct {
	Path string // e.g. "providers[0].api_token_env"
	Name string
}

// EnvRefs lists every environment variable the spec names: provider
// secrets, TSIG keys, notification secrets and check headers.
func (s *Spec) EnvRefs() []EnvRef {
	var out []EnvRef
	add := func(path, name string) {
		if name != "" {
			out = append(out, EnvRef{Path: path, Name: name})
		}
	}
	for i, p := range s.Providers {
		add(fmt.Sprintf("providers[%d].api_token_env", i), p.APITokenEnv)
		add(fmt.Sprintf("providers[%d].tsig_secret_env", i), p.TSIGSecretEnv)
	}
	for i, z := range s.Zones {
		for j, k := range z.TSIGKeys {
			add(fmt.Sprintf("zones[%d].tsig_keys[%d].secret_env", i, j), k.SecretEnv)
		}
	}
	if s.Notifications != nil {
		for i, c := range s.Notifications.Channels {
			path := fmt.Sprintf("notifications.channels[%d]", i)
			add(path+".secret_env", c.SecretEnv)
			add(path+".routing_key_env", c.RoutingKeyEnv)
			if c.SMTP != nil {
				add(path+".smtp.password_env", c.SMTP.PasswordEnv)
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
			add(fmt.Sprintf("checks[%d].headers_env.%s", i, h), c.HeadersEnv[h])
		}
	}
	return out
}

// lintEnvNames warns of a variable a node with the default allow-list
// would refuse to read.
func (s *Spec) lintEnvNames() []Problem {
	var out []Problem
	for _, r := range s.EnvRefs() {
		if slices.Contains(ReservedEnv, r.Name) {
			out = append(out, Problem{Path: r.Path, Message: fmt.Sprintf(
				"%s is detour's own secret: no node lets a spec read it", r.Name)})
		} else if !EnvAllowed(r.Name, nil) {
			out = append(out, Problem{Path: r.Path, Message: fmt.Sprintf(
				"%s lacks the prefix %s: a node reads only the variables its spec_env_prefixes allow (%s by default), and refuses this one unless configured to", excerpt(r.Name), DefaultEnvPrefix, DefaultEnvPrefix)})
		}
	}
	return out
}
