package node

import (
	"log/slog"
	"os"

	"github.com/seed3787e6f1/detour/spec"
)

// envPolicy is which variables this node lets a spec name, per use:
// providers and TSIG keys under spec_env_prefixes, check headers under
// check_env_prefixes, notification secrets under notify_env_prefixes,
// never one use's variable for another's.
func (c *Config) envPolicy() spec.EnvPolicy {
	return spec.EnvPolicy{Spec: c.SpecEnvPrefixes, Check: c.CheckEnvPrefixes, Notify: c.NotifyEnvPrefixes}
}

// specEnv returns the getenv a component reading variables the spec
// names for use reads through: a spec, written by whoever holds an admin
// token, may name only the variables the node allows for that use
// (spec.EnvPolicy), never detour's own secrets (spec.ReservedEnv), so
// that a provider's token cannot be sent in a check header or a
// notification. A refused name reads as unset, with a warning saying
// why; the providers, checks and channels also report it as an error.
func specEnv(policy spec.EnvPolicy, use spec.EnvUse, logger *slog.Logger) func(string) string {
	return func(name string) string {
		if err := policy.Allow(use, name); err != nil {
			logger.Warn("spec names an environment variable this node does not let it read for this use",
				"variable", name, "use", use.String(), "err", err)
			return ""
		}
		return os.Getenv(name)
	}
}
