package main

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/spec"
)

// Every key of the spec's top level, and of its datacenters, pools,
// endpoints, records and providers, is named in docs/spec.md (quorum,
// notifications, status_page and proxied once were not).
func TestSpecKeysDocumented(t *testing.T) {
	data, err := os.ReadFile("../../docs/spec.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, v := range []any{spec.Spec{}, spec.Datacenter{}, spec.Pool{}, spec.Endpoint{}, spec.Record{}, spec.Provider{}, spec.StatusPage{}} {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			f := typ.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if key == "" || key == "-" || !f.IsExported() {
				continue
			}
			if !strings.Contains(doc, "`"+key+"`") && !strings.Contains(doc, "`"+key+"[]") && !strings.Contains(doc, "## "+key+"\n") && !strings.Contains(doc, "."+key+"`") {
				t.Errorf("docs/spec.md does not name %s's key %q", typ.Name(), key)
			}
		}
	}
}
