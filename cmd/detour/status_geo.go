package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/seed3787e6f1/detour/internal/api/wire"
)

// printGeo writes a geo or nearest record's answers per rule or pool:
// "continent:EU -> web-eu-west 203.0.113.10 (healthy)".
func printGeo(w io.Writer, policy string, geo []wire.GeoAnswer, p palette) {
	for _, g := range geo {
		who := strings.Join(g.Match, ", ")
		if policy == "nearest" {
			who = "nearest " + g.Datacenter
		}
		ans, from := answerLine(g.Answers, g.Pool, g.Fallback, p)
		line := fmt.Sprintf("%s → %s  %s", who, ans, from)
		if g.Pass {
			line = fmt.Sprintf("%s → %s", who, p.warn("next"))
			if policy != "nearest" {
				line += " (no healthy pool: the next matching rule answers)"
			} else {
				line += " (pool " + g.Pool + " unhealthy: the next nearest answers)"
			}
		}
		fmt.Fprintf(w, "      %s\n", line)
	}
	if len(geo) > 0 {
		fmt.Fprintf(w, "      %s\n", "clients not placed → the answer above; detour explain NAME --client IP shows one client's")
	}
}

// geoIPDiffers returns the members whose geoip database differs from
// the one most members hold (empty when all agree or none has one).
func geoIPDiffers(ms []wire.MemberInfo) []string {
	count := map[string]int{}
	for _, m := range ms {
		count[m.GeoIP]++
	}
	if len(count) < 2 {
		return nil
	}
	common := ""
	for h, n := range count {
		if n > count[common] || n == count[common] && h < common {
			common = h
		}
	}
	var out []string
	for _, m := range ms {
		if m.GeoIP != common {
			out = append(out, m.ID)
		}
	}
	sort.Strings(out)
	return out
}

// printGeoIP writes each member's geoip database hash when any has one,
// flagging those that differ from the others: they answer geo records
// differently.
func printGeoIP(w io.Writer, ms []wire.MemberInfo, p palette) {
	some := false
	for _, m := range ms {
		some = some || m.GeoIP != ""
	}
	if !some {
		return
	}
	differ := map[string]bool{}
	for _, id := range geoIPDiffers(ms) {
		differ[id] = true
	}
	var parts []string
	for _, m := range ms {
		s := m.ID + " " + firstOf(short(m.GeoIP), "none")
		if differ[m.ID] {
			s = p.bad(s + " DIFFERS")
		}
		parts = append(parts, s)
	}
	fmt.Fprintf(w, "  geoip sha256: %s\n", strings.Join(parts, ", "))
}
