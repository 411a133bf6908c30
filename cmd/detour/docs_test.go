package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// commonFlags are documented once, in docs/cli.md's first table.
var commonFlags = map[string]bool{"api": true, "token": true, "ca-cert": true, "client-cert": true, "client-key": true,
	"timeout": true, "json": true, "help": true}

// Every command has a section "### detour PATH" in docs/cli.md, and
// every flag of the command is named in it (the client commands' common
// flags in the common table).
func TestCLIDocumented(t *testing.T) {
	data, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	sections := map[string]string{}
	for _, part := range strings.Split(doc, "\n### ")[1:] {
		head, body, _ := strings.Cut(part, "\n")
		sections[strings.TrimSpace(head)] = body
	}
	common := doc[:strings.Index(doc, "## Running nodes")]
	for f := range commonFlags {
		if f != "help" && !strings.Contains(common, "`--"+f) {
			t.Errorf("docs/cli.md: the common table lacks --%s", f)
		}
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			if sub.Name() == "completion" {
				checkCompletionDoc(t, sections, sub)
				continue
			}
			path := sub.CommandPath()
			body, ok := sections[path]
			if !ok {
				t.Errorf("docs/cli.md has no section \"### %s\"", path)
			} else {
				sub.LocalFlags().VisitAll(func(f *pflag.Flag) {
					if commonFlags[f.Name] {
						return
					}
					if !strings.Contains(body, "--"+f.Name) {
						t.Errorf("docs/cli.md: section %q does not mention --%s", path, f.Name)
					}
				})
			}
			walk(sub)
		}
	}
	root := newRoot(&bytes.Buffer{}, &bytes.Buffer{})
	// Cobra adds `completion` when the command line runs; add it now.
	root.InitDefaultCompletionCmd()
	walk(root)
}

// checkCompletionDoc wants one section for cobra's completion command
// that names each shell and each of their flags.
func checkCompletionDoc(t *testing.T, sections map[string]string, c *cobra.Command) {
	t.Helper()
	body, ok := sections[c.CommandPath()]
	if !ok {
		t.Errorf("docs/cli.md has no section \"### %s\"", c.CommandPath())
		return
	}
	if len(c.Commands()) == 0 {
		t.Error("the completion command has no shells: the test no longer sees it")
	}
	for _, shell := range c.Commands() {
		if !strings.Contains(body, shell.Name()) {
			t.Errorf("docs/cli.md: section %q does not name %s", c.CommandPath(), shell.Name())
		}
		shell.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Name != "help" && !strings.Contains(body, "--"+f.Name) {
				t.Errorf("docs/cli.md: section %q does not mention --%s (%s)", c.CommandPath(), f.Name, shell.Name())
			}
		})
	}
}
