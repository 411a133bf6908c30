package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"unicode/utf8"
)

// bigStaticJSON is the length of zone text past which canonical JSON
// writes the text itself, into a buffer sized once: encoding/json grew
// its buffer over and over for a 24 MiB string (for a million records,
// half a second of CPU and as much garbage).
const bigStaticJSON = 64 << 10

// marshalCanonical is json.Marshal(c), byte for byte; c is the spec's
// canonical copy, whose zones it may change. Each big zone text is
// marshalled as a unique mark, and the mark's JSON replaced by the
// text's.
func marshalCanonical(c *Spec) ([]byte, error) {
	var texts, marks []string
	var zones []int
	for i := range c.Zones {
		if len(c.Zones[i].Static) < bigStaticJSON {
			continue
		}
		mark := fmt.Sprintf("\x00static of zone %d, %016x", i, rand.Uint64())
		texts, marks, zones = append(texts, c.Zones[i].Static), append(marks, mark), append(zones, i)
		c.Zones[i].Static = mark
	}
	b, err := json.Marshal(c)
	if err != nil || len(texts) == 0 {
		return b, err
	}
	type splice struct{ at, n, text int }
	var cuts []splice
	size := len(b)
	for j, m := range marks {
		enc := appendJSONString(nil, m)
		at := bytes.Index(b, enc)
		if at < 0 || bytes.Contains(b[at+1:], enc) {
			for k, i := range zones { // cannot be: the marks are unique
				c.Zones[i].Static = texts[k]
			}
			return json.Marshal(c)
		}
		cuts = append(cuts, splice{at, len(enc), j})
		size += jsonStringLen(texts[j]) - len(enc)
	}
	slices.SortFunc(cuts, func(x, y splice) int { return x.at - y.at })
	out := make([]byte, 0, size)
	prev := 0
	for _, c := range cuts {
		out = append(out, b[prev:c.at]...)
		out = appendJSONString(out, texts[c.text])
		prev = c.at + c.n
	}
	return append(out, b[prev:]...), nil
}

// jsonSafe says whether an ASCII byte stands for itself in a JSON
// string as encoding/json writes it (escaping HTML).
func jsonSafe(b byte) bool {
	return b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
}

// jsonStringLen is len(appendJSONString(nil, s)).
func jsonStringLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			switch {
			case jsonSafe(b):
				n++
			case b == '\\', b == '"', b == '\b', b == '\f', b == '\n', b == '\r', b == '\t':
				n += 2
			default:
				n += 6
			}
			i++
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1, c == '\u2028', c == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}

// appendJSONString appends s as encoding/json's Marshal writes a string:
// HTML characters escaped, invalid UTF-8 as U+FFFD, U+2028 and U+2029
// escaped (TestAppendJSONString compares the two).
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if jsonSafe(b) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			start = i + size
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xf])
			start = i + size
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
