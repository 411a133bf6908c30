package spec

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error messages quote what they are about, but never much of it: a spec
// may carry text (an inlined zone file) its sender should not get back
// through an error, and a megabyte-long name makes a useless message.
const (
	// MaxExcerpt is the most bytes of input an error message quotes.
	MaxExcerpt = 40
	// maxMessage caps a whole problem message.
	maxMessage = 400
)

// excerpt quotes at most MaxExcerpt bytes of s, escaped as Go does (%q),
// marking a cut with "...".
func excerpt(s string) string {
	if len(s) <= MaxExcerpt {
		return strconv.Quote(s)
	}
	cut := MaxExcerpt
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}

// boundMessage cuts a message over maxMessage bytes and escapes what is
// not printable, so that no message carries a block of raw input.
func boundMessage(m string) string {
	if len(m) > maxMessage {
		cut := maxMessage
		for cut > 0 && !utf8.RuneStart(m[cut]) {
			cut--
		}
		m = m[:cut] + "..."
	}
	if strings.IndexFunc(m, notPrintable) < 0 {
		return m
	}
	q := strconv.Quote(m)
	return q[1 : len(q)-1]
}

func notPrintable(r rune) bool { return !strconv.IsPrint(r) || r == utf8.RuneError }

// yamlField finds the key yaml.v3 quotes whole in an unknown-field error.
var yamlField = regexp.MustCompile(`^field (.*) not found in (.*)$`)

// boundYAMLMessage quotes an unknown key as an excerpt; yaml.v3 already
// cuts the values it quotes to a few bytes.
func boundYAMLMessage(m string) string {
	if f := yamlField.FindStringSubmatch(m); f != nil && (len(f[1]) > MaxExcerpt || strings.IndexFunc(f[1], notPrintable) >= 0) {
		m = "field " + excerpt(f[1]) + " not found in " + f[2]
	}
	return boundMessage(m)
}

// zoneParseError rewrites miekg/dns's parse error, which quotes the
// offending token whole, as "line L:C: what: excerpt".
var zoneParseError = regexp.MustCompile(`(?s)^(?:.*?: )?dns: (.*): ("(?:[^"\\]|\\.)*") at line: (\d+):(\d+)$`)

// zoneError says what is wrong with zone text, quoting at most an
// excerpt of it. shift corrects the line number for lines the parser read
// that the text does not hold.
func zoneError(err error, shift int) string {
	m := zoneParseError.FindStringSubmatch(err.Error())
	if m == nil {
		return "the zone text does not parse: " + excerpt(err.Error())
	}
	what := m[1]
	// A wrapped error may quote input too ("parsing \"...\""): keep the
	// words before it.
	if i := strings.IndexAny(what, "\"`"); i >= 0 {
		what = strings.TrimRight(what[:i], " :")
	}
	if len(what) > MaxExcerpt {
		what = what[:MaxExcerpt] + "..."
	}
	token, err := strconv.Unquote(m[2])
	if err != nil {
		token = ""
	}
	line, err := strconv.Atoi(m[3])
	if err != nil {
		line = 0
	}
	return "line " + strconv.Itoa(max(line+shift, 1)) + ":" + m[4] + ": " + boundMessage(what) + ": " + excerpt(token)
}
