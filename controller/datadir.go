package controller

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

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

// The start-up checks of a data dir against the node's settings: a node
// never starts on another cluster's data dir, and a fresh node whose
// peers already form a cluster waits to be brought up to date instead of
// bootstrapping a new one.

// probeTimeout bounds the start-up question to the configured peers.
const probeTimeout = time.Second

// checkDataDir reads the data dir's cluster ID and, when it holds state,
// checks that this node is in its Raft configuration; then it asks the
// configured peers for their cluster. It returns the cluster a peer
// already belongs to (empty when none answered with one) and refuses a
// data dir of another cluster with what to do.
func (s *Store) checkDataDir(existing bool, snaps raft.SnapshotStore) (peerCluster string, err error) {
	local, err := ReadClusterID(s.cfg.DataDir)
	if err != nil {
		return "", err
	}
	if local != "" {
		s.identity.set(local)
	}
	var members []raft.Server
	notMember := false
	if existing {
		conf, err := storedConfiguration(s.bolt, snaps)
		if err != nil {
			return "", fmt.Errorf("controller: reading the data dir's Raft configuration: %w", err)
		}
		members = conf.Servers
		notMember = len(members) > 0 && !slices.ContainsFunc(members, func(m raft.Server) bool { return string(m.ID) == s.cfg.NodeID })
	}
	confirmed := false // a peer says the data dir's cluster is its own
	for _, p := range s.probePeers() {
		switch {
		case p.cluster == "":
		case local != "" && p.cluster != local:
			return "", s.foreignDataDir(local, members, fmt.Sprintf("peer %s@%s belongs to cluster %s", p.id, p.addr, p.cluster))
		default:
			confirmed = confirmed || p.cluster == local
			if peerCluster == "" {
				peerCluster = p.cluster
			}
		}
	}
	switch {
	case notMember && !confirmed:
		return "", s.foreignDataDir(local, members, fmt.Sprintf("%s is not among its members", s.cfg.NodeID))
	case notMember:
		// Its cluster's: a node removed, or one stopped while it caught
		// up before the entry that added it. The leader brings a member
		// up to date; a removed node waits.
		s.logger.Warn("this node is not in its data dir's Raft configuration: it waits for its cluster's leader; if it was removed, add it again with `detour members add "+
			s.cfg.NodeID+"@"+s.cfg.RaftAddr+"`", "members", memberIDs(members), "cluster_id", local)
	}
	return peerCluster, nil
}

// foreignDataDir says that the data dir is another cluster's, and what to
// do.
func (s *Store) foreignDataDir(cluster string, members []raft.Server, why string) error {
	peers := make([]string, 0, len(s.cfg.Peers))
	for _, p := range s.cfg.Peers {
		peers = append(peers, p.ID+"@"+p.Address)
	}
	return fmt.Errorf("%w: data dir %s belongs to cluster %s (members %s), but this node is configured as %s with peers %s, and %s: "+
		"move the data dir away (a fresh one joins the configured cluster) or fix --data-dir, --node-id or --peers",
		ErrOtherCluster, s.cfg.DataDir, orUnknown(cluster), orNone(memberIDs(members)), s.cfg.NodeID, orNone(strings.Join(peers, ",")), why)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

type probed struct{ id, addr, cluster string }

// probePeers asks every configured peer but this node, at once, which
// cluster it belongs to; the ones that do not answer in time are left
// out.
func (s *Store) probePeers() []probed {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	out := make(chan probed, len(s.cfg.Peers))
	n := 0
	for _, p := range s.cfg.Peers {
		if p.ID == s.cfg.NodeID {
			continue
		}
		n++
		go func() {
			id, err := s.mux.ProbeCluster(ctx, p.ID, p.Address)
			if err != nil && !errors.Is(err, ErrOtherCluster) {
				s.logger.Debug("asking a peer for its cluster", "peer", p.ID, "err", err)
				id = ""
			}
			out <- probed{id: p.ID, addr: p.Address, cluster: id}
		}()
	}
	var res []probed
	for range n {
		res = append(res, <-out)
	}
	return res
}

// storedConfiguration is the latest Raft configuration in the data dir:
// the last configuration entry of the log, else the latest snapshot's.
func storedConfiguration(logs raft.LogStore, snaps raft.SnapshotStore) (raft.Configuration, error) {
	var conf raft.Configuration
	from := uint64(0)
	if list, err := snaps.List(); err != nil {
		return conf, err
	} else if len(list) > 0 {
		conf, from = list[0].Configuration, list[0].Index
	}
	first, err := logs.FirstIndex()
	if err != nil {
		return conf, err
	}
	last, err := logs.LastIndex()
	if err != nil {
		return conf, err
	}
	for i := last; i >= max(first, from+1) && i > 0; i-- {
		var l raft.Log
		if err := logs.GetLog(i, &l); err != nil {
			return conf, err
		}
		if l.Type == raft.LogConfiguration {
			return raft.DecodeConfiguration(l.Data), nil
		}
	}
	return conf, nil
}

// bootstrapIdentity draws the cluster's ID when this node bootstraps a
// cluster of one: it is the cluster's first leader at once. A cluster of
// several gets its ID from its first leader (keepClusterID).
func (s *Store) bootstrapIdentity(servers []raft.Server) error {
	if len(servers) != 1 || s.identity.get() != "" {
		return nil
	}
	id := NewClusterID()
	if err := writeClusterID(s.cfg.DataDir, id); err != nil {
		return err
	}
	s.identity.set(id)
	return nil
}
