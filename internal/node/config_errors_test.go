package node

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A typo'd key in a node file is named as an unknown setting with the
// key it was probably meant to be, at top level and in a nested block,
// without the Go type names a tired operator cannot act on.
func TestNodeFileTypoSuggestsKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.yaml")
	data := "node_id: n-1\nraft_adr: 127.0.0.1:7001\nraft: {heartbeat_timout: 1s}\ncolour: blue\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(path)
	if !errors.Is(err, ErrNodeFile) {
		t.Fatalf("LoadFile: %v, want ErrNodeFile", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"line 2: field raft_adr not found: no such setting; did you mean raft_addr?",
		"field heartbeat_timout not found: no such setting; did you mean heartbeat_timeout?",
		"line 4: field colour not found: no such setting\n",
	} {
		if !strings.Contains(msg+"\n", want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "node.Config") || strings.Contains(msg, "RaftSettings") {
		t.Errorf("error names Go types:\n%s", msg)
	}
}
