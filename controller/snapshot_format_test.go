package controller

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// Snapshots say their format. One without a format (written before they
// had one) restores as format 1; one of a format newer than this version
// reads is refused with a clear error, and the replica keeps its state.
func TestSnapshotFormat(t *testing.T) {
	src := testFSM(t)
	b, _ := (&Command{Type: CmdObserverReport, Time: time.Now(), Report: &ObserverReport{Observer: "a"}}).Encode()
	src.Apply(&raft.Log{Index: 7, Term: 1, Type: raft.LogCommand, Data: b})
	snap, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	current := sink.buf.String()
	if !strings.HasPrefix(current, `{"format":2,`) {
		t.Fatalf("a snapshot does not start with its format: %.60s", current)
	}
	// Format 1, the state as JSON, as the versions before wrote it:
	// with its number, and from before snapshots were numbered.
	v1 := `{"format":1,"spec_version":0,"observers":{"a":{"fresh":true,"last_report":"2026-12-01T12:00:00Z","verdicts":{}}},"overrides":{},"members":{},"events":[],"next_event":1,"now":"2026-12-01T12:00:00Z","index":7,"term":1}`

	restore := func(data string) (*FSM, error) {
		f := testFSM(t)
		return f, f.Restore(io.NopCloser(bytes.NewBufferString(data)))
	}
	for name, data := range map[string]string{
		"current":     current,
		"format 1":    v1,
		"unversioned": strings.Replace(v1, `"format":1,`, "", 1),
	} {
		f, err := restore(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if f.AppliedIndex() != 7 {
			t.Errorf("%s: restored at index %d, want 7", name, f.AppliedIndex())
		}
	}

	f, err := restore(strings.Replace(current, `"format":2,`, `"format":3,`, 1))
	if !errors.Is(err, ErrSnapshotFormat) || !strings.Contains(err.Error(), "format 3") || !strings.Contains(err.Error(), "upgrade") {
		t.Errorf("a format-3 snapshot: %v, want ErrSnapshotFormat naming the format and the fix", err)
	}
	if f.AppliedIndex() != 0 {
		t.Errorf("the refused snapshot changed the state: index %d", f.AppliedIndex())
	}
}
