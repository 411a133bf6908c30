package machine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// SnapshotFormat is the format of the state snapshots this version
// writes, and the newest it restores. Snapshots written before formats
// were numbered carry none and are format 1.
const SnapshotFormat = 1

// ErrSnapshotFormat means a snapshot is in a format this version cannot
// read: a newer version wrote it.
var ErrSnapshotFormat = errors.New("snapshot format unknown to this version")

// versionedState is a snapshot on disk and on the wire: the state with
// its format beside its fields (older versions ignore the field).
type versionedState struct {
	Format int `json:"format,omitempty"`
	*State
}

// encodeSnapshot serialises st as a snapshot of the current format.
func encodeSnapshot(st *State) ([]byte, error) {
	return json.Marshal(versionedState{Format: SnapshotFormat, State: st})
}

// decodeSnapshot reads a snapshot into a new state, refusing a format
// newer than SnapshotFormat: guessing at it could make this replica hold
// another state than the others.
func decodeSnapshot(r io.Reader) (*State, error) {
	v := versionedState{State: NewState()}
	if err := json.NewDecoder(r).Decode(&v); err != nil {
		return nil, err
	}
	format := max(v.Format, 1) // unnumbered: the first format
	if format > SnapshotFormat {
		return nil, fmt.Errorf("%w: the snapshot is format %d, this version reads up to %d; upgrade this node", ErrSnapshotFormat, format, SnapshotFormat)
	}
	return v.State, nil
}
