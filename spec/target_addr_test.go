package spec

import (
	"net/netip"
	"strings"
	"testing"
)

// `detour check` warns about literal addresses nodes refuse to probe
// unless their check_allow_networks allows them; it cannot know a node's
// settings, so it is a warning, not an error.
func TestLintForbiddenCheckTargets(t *testing.T) {
	cases := []struct {
		name, endpoint, want string
	}{
		{"metadata check_address", `{address: 192.0.2.10, check_address: "169.254.169.254:80"}`, "pools[0].endpoints[0].check_address: 169.254.169.254 is a loopback, link-local, metadata"},
		{"loopback check_address", `{address: 192.0.2.10, check_address: "127.0.0.1:8080"}`, "pools[0].endpoints[0].check_address: 127.0.0.1 is"},
		{"ipv6 metadata address", `{address: "fd00:ec2::254"}`, "pools[0].endpoints[0].address: fd00:ec2::254 is"},
		{"public address", `{address: 192.0.2.10}`, ""},
		{"host name", `{address: 192.0.2.10, check_address: "app.example.test:80"}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := strings.Replace(checkDoc("    type: http"), `{address: 192.0.2.10, check_address: "127.0.0.1:8080"}`, c.endpoint, 1)
			s, err := Parse([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			var found []string
			for _, p := range s.Lint() {
				if strings.HasPrefix(p.Path, "pools[") {
					found = append(found, p.String())
				}
			}
			switch {
			case c.want == "" && len(found) > 0:
				t.Errorf("lints %v, want none", found)
			case c.want != "" && (len(found) != 1 || !strings.HasPrefix(found[0], c.want)):
				t.Errorf("lints %v, want one starting %q", found, c.want)
			}
		})
	}
}

// A node that allows the address (its check_allow_networks) is not told
// at start that nodes refuse to probe it; other forbidden addresses are
// still named.
func TestLintAllowingLeavesOutAllowedTargets(t *testing.T) {
	doc := checkDoc("    type: http") // probes 127.0.0.1:8080
	s, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	count := func(ps []Problem) (n int) {
		for _, p := range ps {
			if strings.Contains(p.Message, "nodes refuse to probe it") {
				n++
			}
		}
		return n
	}
	if n := count(s.Lint()); n != 1 {
		t.Fatalf("Lint: %d target warnings, want 1", n)
	}
	if n := count(s.LintAllowing([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})); n != 0 {
		t.Errorf("LintAllowing(127.0.0.0/8): %d target warnings, want 0", n)
	}
	if n := count(s.LintAllowing([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})); n != 1 {
		t.Errorf("LintAllowing(10.0.0.0/8): %d target warnings, want 1", n)
	}
}
