package health

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/seed3787e6f1/detour/spec"
)

// A check's credential header comes from the node's environment, under
// the node's allow-list for check headers, and reaches the target; the
// spec carries only the variable's name, and may not name a provider's
// or a notification's variable.
func TestHeadersFromEnvironment(t *testing.T) {
	const cred = "Bearer probe-credential-0123456789"
	t.Setenv("DETOUR_CHECK_TEST_AUTH", cred)
	t.Setenv("TEST_CHECK_AUTH_OUTSIDE", cred)
	t.Setenv("DETOUR_CF_TOKEN", cred)
	t.Setenv("DETOUR_NOTIFY_PD_KEY", cred)
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization"))
	}))
	t.Cleanup(srv.Close)
	probe := strings.TrimPrefix(srv.URL, "http://")

	c := httpCheckSpec("auth")
	c.HeadersEnv = map[string]string{"Authorization": "DETOUR_CHECK_TEST_AUTH"}
	if r := probeOnce(t, c, probe); !r.Up {
		t.Fatalf("probe: %+v", r)
	}
	if v, _ := got.Load().(string); v != cred {
		t.Errorf("the target saw Authorization %q, want the variable's value", v)
	}

	for name, tc := range map[string]struct {
		variable string
		env      *env
		want     string
	}{
		"outside the default prefix": {"TEST_CHECK_AUTH_OUTSIDE", &env{}, "check_env_prefixes"},
		"detour's own tokens":        {"DETOUR_API_TOKENS", &env{envPolicy: spec.EnvPolicy{Check: []string{"DETOUR_"}}}, "detour's own secret"},
		"a provider's token":         {"DETOUR_CF_TOKEN", &env{}, "check_env_prefixes"},
		"a notification's key":       {"DETOUR_NOTIFY_PD_KEY", &env{envPolicy: spec.EnvPolicy{Check: []string{"DETOUR_"}}}, "notify_env_prefixes"},
		"unset":                      {"DETOUR_CHECK_TEST_UNSET", &env{}, "empty or unset"},
		"allowed by the node":        {"TEST_CHECK_AUTH_OUTSIDE", &env{envPolicy: spec.EnvPolicy{Check: []string{"TEST_CHECK_"}}}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			c.HeadersEnv = map[string]string{"Authorization": tc.variable}
			_, err := httpKind(&c, tc.env)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrCheckConfig) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), cred) {
				t.Fatalf("got %v, want ErrCheckConfig saying %q without the value", err, tc.want)
			}
		})
	}
}
