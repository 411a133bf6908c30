package node

import (
	"log/slog"
	"os"
	"strings"

	"github.com/seed3787e6f1/detour/spec"
)

// specEnv returns the getenv every component reading a variable the spec
// names uses: a spec, written by whoever holds an admin token, may name
// only the variables whose prefix the node allows (spec_env_prefixes,
// DETOUR_ by default), never detour's own secrets (spec.ReservedEnv). A refused name reads as unset, with a warning saying
// why; the providers also report it as an error in plan and status.
func specEnv(prefixes []string, logger *slog.Logger) func(string) string {
	return func(name string) string {
		if !spec.EnvAllowed(name, prefixes) {
			logger.Warn("spec names an environment variable this node does not let it read",
				"variable", name, "allowed_prefixes", allowedPrefixes(prefixes))
			return ""
		}
		return os.Getenv(name)
	}
}

func allowedPrefixes(p []string) string {
	if len(p) == 0 {
		return spec.DefaultEnvPrefix
	}
	return strings.Join(p, ",")
}
