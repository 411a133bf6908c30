package controller

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/controller/nodeport"
)

// packageDecls parses the non-test sources of the packages in dirs.
func packageDecls(t *testing.T, dirs ...string) []*ast.File {
	t.Helper()
	var files []*ast.File
	for _, dir := range dirs {
		fset := token.NewFileSet()
		pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkgs {
			for _, f := range p.Files {
				files = append(files, f)
			}
		}
	}
	return files
}

// declaredSentinels lists the package-level Err* variables made with
// errors.New in this package and the state machine's: every sentinel
// someone declared.
func declaredSentinels(t *testing.T) []string {
	var names []string
	for _, f := range packageDecls(t, ".", "machine") {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i >= len(vs.Values) || !strings.HasPrefix(strings.ToLower(n.Name), "err") {
						continue
					}
					if call, ok := vs.Values[i].(*ast.CallExpr); ok {
						if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "New" {
							names = append(names, n.Name)
						}
					}
				}
			}
		}
	}
	return names
}

// localErrors are the sentinels that never cross the forwarding wire: the
// wrapper every refusal carries, failures of the caller's own side, and
// the leader's passing trouble it answers with "ask again" (a clock not
// started yet), and an observer's own abandoned report.
var localErrors = []string{"ErrRejected", "ErrNoLeader", "ErrClosed", "ErrUnknownCommand", "ErrSnapshotFormat", "ErrClockNotReady", "ErrOtherCluster", "ErrTaskPanicked", "ErrSpecCompiling", "ErrCompile", "errLeaderMoved", "errSnapshotBody"}

// Every sentinel the package declares either crosses the forwarding wire
// with its own code, or is listed as local; each one in the table comes
// back from the wire as itself, still a refusal.
func TestEverySentinelCrossesTheWire(t *testing.T) {
	inTable := map[error]bool{}
	codes := map[string]bool{}
	for _, c := range errorTable {
		if codes[c.code] || inTable[c.err] {
			t.Errorf("code %q or its error is in the table twice", c.code)
		}
		codes[c.code], inTable[c.err] = true, true
	}
	byName := map[string]error{
		"ErrNoSpec": ErrNoSpec, "ErrUnknownTarget": ErrUnknownTarget, "ErrUnknownRecord": ErrUnknownRecord,
		"ErrBadCommand": ErrBadCommand, "ErrNotFound": ErrNotFound, "ErrSpecChanged": ErrSpecChanged,
		"ErrUnknownIncident": ErrUnknownIncident, "ErrIncidentResolved": ErrIncidentResolved, "ErrIncidentLimit": ErrIncidentLimit,
		"ErrHalted": ErrHalted, "ErrSkipped": ErrSkipped, "ErrStorage": ErrStorage, "ErrNotLeader": ErrNotLeader,
		"ErrUnreachable": ErrUnreachable, "ErrNeedsForce": ErrNeedsForce,
	}
	declared := declaredSentinels(t)
	if len(declared) < 10 {
		t.Fatalf("found %d sentinels in the sources: the parse missed some", len(declared))
	}
	for _, name := range declared {
		if slices.Contains(localErrors, name) {
			continue
		}
		err, ok := byName[name]
		if !ok {
			t.Errorf("%s is a sentinel this test does not know: give it a wire code in errorTable (and a line here), or list it in localErrors", name)
			continue
		}
		if !inTable[err] {
			t.Errorf("%s has no wire code: a follower's caller cannot tell it apart", name)
		}
	}
	for _, c := range errorTable {
		t.Run(c.code, func(t *testing.T) {
			refused := fmt.Errorf("%w: %w", ErrRejected, fmt.Errorf("%w: some detail", c.err))
			got := overTheWire(t, rpcResponse{Rejected: trimRejected(refused), Code: codeOf(refused)})
			if !errors.Is(got, c.err) || !errors.Is(got, ErrRejected) {
				t.Errorf("%v came back as %v (code %q)", c.err, got, codeOf(refused))
			}
			if !strings.Contains(got.Error(), "some detail") {
				t.Errorf("the message was lost: %v", got)
			}
			for _, other := range errorTable {
				if other.err != c.err && errors.Is(got, other.err) {
					t.Errorf("%v came back also as %v", c.err, other.err)
				}
			}
		})
	}
}

// overTheWire sends a refusal as the leader does and reads it back as
// the follower does.
func overTheWire(t *testing.T, resp rpcResponse) error {
	t.Helper()
	var buf bytes.Buffer
	if err := nodeport.WriteFrame(&buf, resp); err != nil {
		t.Fatal(err)
	}
	var back rpcResponse
	if err := nodeport.ReadFrame(&buf, &back); err != nil {
		t.Fatal(err)
	}
	if back.Rejected == "" {
		t.Fatalf("no refusal came back: %+v", back)
	}
	return back.refusal()
}
