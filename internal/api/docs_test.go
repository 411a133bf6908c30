package api_test

import (
	"os"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/internal/api"
)

// Every route the server registers has a section "### METHOD PATH" in
// docs/api.md, and every section names a registered route.
func TestRoutesDocumented(t *testing.T) {
	n, _ := startNode(t, specText(t), nil)
	s, err := api.New(api.Options{Store: n.Store()})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	routesDoc := string(data)
	routesDoc = routesDoc[strings.Index(routesDoc, "## Routes"):]
	routesDoc = routesDoc[:strings.Index(routesDoc, "\n## ")+1]
	documented := map[string]bool{}
	for _, line := range strings.Split(routesDoc, "\n") {
		if h, ok := strings.CutPrefix(line, "### "); ok {
			documented[h] = true
		}
	}
	registered := map[string]bool{}
	for _, r := range s.Routes() {
		registered[r] = true
		if !documented[r] {
			t.Errorf("docs/api.md has no section \"### %s\"", r)
		}
	}
	for h := range documented {
		if !registered[h] {
			t.Errorf("docs/api.md documents %q, which the server does not register", h)
		}
	}
}
