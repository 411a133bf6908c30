package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/spec"
)

// A spec is in force already when it says the same, however its text is
// written (compared by fingerprint, not by writing both out in YAML); a
// spec applied is committed as the text sent, and read back normalised.
func TestSpecApplyComparesBySpec(t *testing.T) {
	text := specText(t)
	_, base := startNode(t, text, testTokens())
	put := func(yaml string) api.SpecResponse {
		t.Helper()
		code, body := call(t, base, "PUT", "/v1/spec", tokAdmin, api.SpecRequest{YAML: yaml})
		if code != 200 {
			t.Fatalf("PUT /v1/spec: %d %s", code, body)
		}
		var res api.SpecResponse
		if err := json.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	var before api.SpecResponse
	getJSON(t, base, "/v1/spec", tokRead, &before)

	rewritten := "# the same spec, written otherwise\n" + text + "\n# (with comments)\n"
	if res := put(rewritten); res.Changed || res.Version != before.Version {
		t.Errorf("the same spec written otherwise: changed %v, version %d (was %d)", res.Changed, res.Version, before.Version)
	}

	changed := strings.Replace(text, "ttl: 30", "ttl: 31", 1)
	if changed == text {
		t.Fatal("testdata/spec.yaml has no ttl: 30 to change")
	}
	res := put("# ttl 31\n" + changed)
	if !res.Changed || res.Version != before.Version+1 || res.YAML != "# ttl 31\n"+changed {
		t.Errorf("a changed spec: changed %v, version %d (was %d), yaml sent back %.40q", res.Changed, res.Version, before.Version, res.YAML)
	}
	var after api.SpecResponse
	getJSON(t, base, "/v1/spec", tokRead, &after)
	if strings.HasPrefix(after.YAML, "#") || !strings.Contains(after.YAML, "ttl: 31") {
		t.Errorf("GET /v1/spec is not the spec normalised:\n%.300s", after.YAML)
	}
	sent, err := spec.Parse([]byte(changed))
	if err != nil {
		t.Fatal(err)
	}
	got, err := spec.Parse([]byte(after.YAML))
	if err != nil {
		t.Fatal(err)
	}
	if same, err := got.Same(sent); err != nil || !same {
		t.Errorf("the spec in force is not the spec sent (%v)", err)
	}
}
