package controller

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
)

// The data directory holds the whole replicated state, spec and secrets
// references included: nobody but the node's user reads it.
const (
	privateDir  fs.FileMode = 0o700
	privateFile fs.FileMode = 0o600
)

// tighten makes dir and everything under it private: directories 0700,
// files 0600. hashicorp/raft writes snapshots with default modes (0755
// directories, 0644 files); a data directory from an older version may
// hold such files too.
func tighten(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := privateFile
		if d.IsDir() {
			mode = privateDir
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		if err := os.Chmod(path, mode); err != nil {
			return fmt.Errorf("controller: data dir: %w", err)
		}
		return nil
	})
}

// privateSnapshots is a snapshot store whose snapshots are private once
// written.
type privateSnapshots struct {
	raft.SnapshotStore
	dir string // where the store keeps its snapshots
}

// Create implements raft.SnapshotStore.
func (p privateSnapshots) Create(version raft.SnapshotVersion, index, term uint64, configuration raft.Configuration,
	configurationIndex uint64, trans raft.Transport) (raft.SnapshotSink, error) {
	sink, err := p.SnapshotStore.Create(version, index, term, configuration, configurationIndex, trans)
	if err != nil {
		return nil, err
	}
	return privateSink{SnapshotSink: sink, dir: p.dir}, nil
}

type privateSink struct {
	raft.SnapshotSink
	dir string
}

// Close implements raft.SnapshotSink: the snapshot is complete, and
// made private.
func (s privateSink) Close() error {
	if err := s.SnapshotSink.Close(); err != nil {
		return err
	}
	return tighten(s.dir)
}
