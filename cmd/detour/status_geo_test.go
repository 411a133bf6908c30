package main

import (
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/api/wire"
)

// A member whose geoip database differs from the others' is flagged in
// the table and warned about by status --check; agreeing members and
// members without a database are not.
func TestGeoIPMismatchFlagged(t *testing.T) {
	cases := []struct {
		name   string
		hashes []string
		differ string
	}{
		{"all agree", []string{"aaaa", "aaaa", "aaaa"}, ""},
		{"none has one", []string{"", "", ""}, ""},
		{"one differs", []string{"aaaa", "bbbb", "aaaa"}, "n2"},
		{"one lacks it", []string{"aaaa", "aaaa", ""}, "n3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ms []wire.MemberInfo
			for i, h := range c.hashes {
				ms = append(ms, wire.MemberInfo{ID: "n" + string(rune('1'+i)), GeoIP: h})
			}
			if got := strings.Join(geoIPDiffers(ms), ","); got != c.differ {
				t.Errorf("differ = %q, want %q", got, c.differ)
			}
			var b strings.Builder
			printGeoIP(&b, ms, palette{})
			flagged := strings.Contains(b.String(), "DIFFERS")
			if (c.differ != "") != flagged || flagged && !strings.Contains(b.String(), c.differ+" ") {
				t.Errorf("table line %q for differ %q", b.String(), c.differ)
			}
			_, line := judge(api.Status{Leader: "n1", Members: ms, Quorum: wire.Quorum{Known: true, OK: true, Voters: 3, CanLose: 1}})
			if (c.differ != "") != strings.Contains(line, "geoip database differs on "+c.differ) {
				t.Errorf("status --check line %q", line)
			}
		})
	}
}
