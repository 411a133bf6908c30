package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	mdLink   = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHead   = regexp.MustCompile("(?m)^#{1,6} +(.+)$")
	slugDrop = regexp.MustCompile(`[^\p{L}\p{N} _-]`)
)

// slug is the anchor GitHub makes of a heading.
func slug(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	h = slugDrop.ReplaceAllString(h, "")
	return strings.ReplaceAll(h, " ", "-")
}

// anchors lists the headings' anchors of a markdown file.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	for _, m := range mdHead.FindAllStringSubmatch(text, -1) {
		out[slug(m[1])] = true
	}
	return out
}

// Every relative link in README.md and docs/*.md leads to a file that
// exists, and to a heading of it when it names one: a reader never meets
// a dead link (the README's "design notes" once pointed nowhere).
func TestDocsLinks(t *testing.T) {
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../../README.md")
	texts := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		texts[filepath.Clean(f)] = string(data)
	}
	for f, text := range texts {
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(link, "#")
			target := f
			if path != "" {
				target = filepath.Clean(filepath.Join(filepath.Dir(f), path))
				if _, err := os.Stat(target); err != nil {
					t.Errorf("%s: link %q: %v", f, link, err)
					continue
				}
			}
			if frag == "" || !strings.HasSuffix(target, ".md") {
				continue
			}
			body, ok := texts[target]
			if !ok {
				data, err := os.ReadFile(target)
				if err != nil {
					t.Errorf("%s: link %q: %v", f, link, err)
					continue
				}
				body = string(data)
			}
			if !anchors(body)[frag] {
				t.Errorf("%s: link %q: %s has no heading #%s", f, link, target, frag)
			}
		}
	}
}
