package health

import (
	"fmt"
	"os"
	"strings"

	"github.com/seed3787e6f1/detour/spec"
)

// headersFromEnv resolves a check's headers_env on this node: each value
// comes from an environment variable the node lets a spec read for check
// headers, so that a credential a probe sends never travels in the
// replicated spec, and no other secret of the node (a provider's token,
// a notification's key) goes out in a header to the check's target.
func (e *env) headersFromEnv(c *spec.Check) (map[string]string, error) {
	if len(c.HeadersEnv) == 0 {
		return nil, nil
	}
	getenv := os.Getenv
	var policy spec.EnvPolicy
	if e != nil {
		policy = e.envPolicy
		if e.getenv != nil {
			getenv = e.getenv
		}
	}
	out := make(map[string]string, len(c.HeadersEnv))
	for header, name := range c.HeadersEnv {
		if err := policy.Allow(spec.EnvCheck, name); err != nil {
			return nil, fmt.Errorf("%w: headers_env %s: %w; nothing was sent", ErrCheckConfig, header, err)
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
