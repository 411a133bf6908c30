package node

import (
	"reflect"
	"regexp"
	"strings"
)

// unknownField matches yaml.v3's error for a key no setting has.
var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// friendlyFileErrors rewrites the decoder's errors for a person: an
// unknown key loses the Go type name and gains the closest known key.
func friendlyFileErrors(errs []string) []string {
	keys := yamlKeys(reflect.TypeFor[Config](), nil)
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = unknownField.ReplaceAllStringFunc(e, func(m string) string {
			key := unknownField.FindStringSubmatch(m)[1]
			s := "field " + key + " not found: no such setting"
			if near := closest(key, keys); near != "" {
				s += "; did you mean " + near + "?"
			}
			return s
		})
	}
	return out
}

// yamlKeys lists the yaml keys of t and of the structs it holds.
func yamlKeys(t reflect.Type, seen map[reflect.Type]bool) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	if seen == nil {
		seen = map[reflect.Type]bool{}
	}
	if seen[t] {
		return nil
	}
	seen[t] = true
	var keys []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name != "" {
			keys = append(keys, name)
		}
		keys = append(keys, yamlKeys(f.Type, seen)...)
	}
	return keys
}

// closest returns the key nearest to s, if it is a likely typo (at most
// two edits away).
func closest(s string, keys []string) string {
	best, bestD := "", 3
	for _, k := range keys {
		if d := editDistance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
