package health

import (
	"fmt"
	"os"
	"strings"

	"github.com/seed3787e6f1/detour/spec"
)

// headersFromEnv resolves a check's headers_env on this node: each value
// comes from an environment variable the node lets a spec read, so that
// a credential a probe sends never travels in the replicated spec.
func (e *env) headersFromEnv(c *spec.Check) (map[string]string, error) {
	if len(c.HeadersEnv) == 0 {
		return nil, nil
	}
	getenv := os.Getenv
	var prefixes []string
	if e != nil {
		prefixes = e.envPrefixes
		if e.getenv != nil {
			getenv = e.getenv
		}
	}
	out := make(map[string]string, len(c.HeadersEnv))
	for header, name := range c.HeadersEnv {
		if !spec.EnvAllowed(name, prefixes) {
			return nil, fmt.Errorf("%w: headers_env %s: environment variable %s is not one this node lets a spec read (node setting spec_env_prefixes)", ErrCheckConfig, header, name)
		}
		v := getenv(name)
		if v == "" {
			return nil, fmt.Errorf("%w: headers_env %s: environment variable %s is empty or unset on this node", ErrCheckConfig, header, name)
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("%w: headers_env %s: environment variable %s holds a line break", ErrCheckConfig, header, name)
		}
		out[header] = v
	}
	return out, nil
}
