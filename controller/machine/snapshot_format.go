package machine

import "errors"

// SnapshotFormat is the format of the state snapshots this version
// writes, and the newest it restores. Snapshots written before formats
// were numbered carry none and are format 1: the State as JSON. Format 2
// (snapshot_v2.go) is a JSON header and a binary body.
const SnapshotFormat = 2

// ErrSnapshotFormat means a snapshot is in a format this version cannot
// read: a newer version wrote it.
var ErrSnapshotFormat = errors.New("snapshot format unknown to this version")

// versionedState is a snapshot on disk and on the wire: the state with
// its format beside its fields (older versions ignore the field).
type versionedState struct {
	Format int `json:"format,omitempty"`
	*State
}
