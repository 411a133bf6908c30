package statuspage

import "unicode/utf8"

// Limits bound what one page carries, so that no state (40 incidents of
// 900 KiB made each load 38 MB) makes it large: counts of each part, the
// length of each text, and a budget for all text together. Text over its
// limit is cut with an ellipsis; parts past a count or the budget are
// left off (an incident says how many of its updates it hides).
type Limits struct {
	// History is how many history entries the page and the feed list.
	History int
	// Incidents and Resolved are how many open and resolved incidents
	// are shown; Updates how many of each incident's newest updates.
	Incidents, Resolved, Updates int
	// Title and Message bound each title and message, in bytes.
	Title, Message int
	// Text is the budget for all titles and messages together, counted
	// as their worst escaped size (a '<' costs 6: "\u003c"), so that the
	// HTML, the JSON and the feed each stay within about Text plus the
	// fixed layout.
	Text int
}

// DefaultLimits keep a page under 200 KiB whatever the state holds.
var DefaultLimits = Limits{History: DefaultHistory, Incidents: 10, Resolved: 5, Updates: 5,
	Title: 200, Message: 4 << 10, Text: 128 << 10}

// withDefaults fills the zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	for _, f := range []struct{ v, def *int }{{&l.History, &d.History}, {&l.Incidents, &d.Incidents}, {&l.Resolved, &d.Resolved},
		{&l.Updates, &d.Updates}, {&l.Title, &d.Title}, {&l.Message, &d.Message}, {&l.Text, &d.Text}} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return l
}

// budget is what is left of a page's text budget.
type budget struct{ left int }

func newBudget(l Limits) *budget { return &budget{left: l.Text} }

// take cuts s to max bytes and charges it to the budget; false when the
// budget cannot hold it.
func (b *budget) take(s string, limit int) (string, bool) {
	s = truncate(s, limit)
	c := cost(s)
	if c > b.left {
		return "", false
	}
	b.left -= c
	return s, true
}

// truncate cuts s to at most limit bytes at a character boundary,
// ending in an ellipsis when cut.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const ellipsis = "…"
	cut := limit - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:max(cut, 0)] + ellipsis
}

// cost is s's worst size once escaped for HTML, JSON or XML.
func cost(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case r == '<' || r == '>' || r == '&' || r == '"' || r == '\'' || r < 0x20 || r == 0x7f || r == utf8.RuneError:
			n += 6
		default:
			n += utf8.RuneLen(r)
		}
	}
	return n
}
