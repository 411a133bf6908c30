package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/seed3787e6f1/detour/controller/nodeport"
)

// Cluster identity. Every cluster has an ID, drawn at random once: by a
// node that bootstraps a cluster of one at once, otherwise by the first
// leader, which commits it (CmdClusterID) so that every replica holds the
// same. Each node keeps it in its data dir (clusterIDFile) and states it
// when it opens a node-port connection (nodeport's hello); a peer of
// another cluster is refused on both ends. See docs/cluster.md.

// ErrOtherCluster means a data dir or a peer belongs to another cluster
// than this node's: the node port's sentinel, so that a refused peer and
// a mixed data dir are the same error to callers.
var ErrOtherCluster = nodeport.ErrOtherCluster

// clusterIDFile holds the cluster's ID in the data dir.
const clusterIDFile = "cluster-id"

// maxClusterID bounds an ID: the node port's hello carries it.
const maxClusterID = nodeport.MaxClusterID

// NewClusterID draws a cluster ID.
func NewClusterID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "c-" + hex.EncodeToString(b[:])
}

// ReadClusterID returns the cluster ID kept in dir, empty when it has
// none (a fresh data dir, one from before cluster IDs, or a node that
// has not yet applied its cluster's).
func ReadClusterID(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, clusterIDFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("controller: cluster ID: %w", err)
	}
	id := strings.TrimSpace(string(b))
	if id == "" || len(id) > maxClusterID || strings.ContainsAny(id, " \t\r\n") {
		return "", fmt.Errorf("controller: cluster ID in %s: %q is not one; restore the file from another member's data dir", filepath.Join(dir, clusterIDFile), id)
	}
	return id, nil
}

// writeClusterID keeps id in dir, privately, replacing the file whole.
func writeClusterID(dir, id string) error {
	tmp := filepath.Join(dir, clusterIDFile+".tmp")
	if err := os.WriteFile(tmp, []byte(id+"\n"), privateFile); err != nil {
		return fmt.Errorf("controller: cluster ID: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, clusterIDFile)); err != nil {
		return fmt.Errorf("controller: cluster ID: %w", err)
	}
	return nil
}

// clusterIdentity is the ID this node states on the node port, empty
// until it knows one.
type clusterIdentity struct {
	id atomic.Pointer[string]
}

func (c *clusterIdentity) get() string {
	if p := c.id.Load(); p != nil {
		return *p
	}
	return ""
}

func (c *clusterIdentity) set(id string) { c.id.Store(&id) }

// ClusterID is this node's cluster ID, empty until it knows one.
func (s *Store) ClusterID() string { return s.identity.get() }

// keepClusterID runs until this node holds its cluster's ID in its data
// dir: as leader of a cluster that has none yet, it commits one (the data
// dir's, for a cluster of one bootstrapped with it, else a new one); on
// every node it writes the replicated ID to the data dir once applied.
func (s *Store) keepClusterID(ctx context.Context) {
	every(ctx, dutyTick, func() bool {
		applied := s.fsm.View().ClusterID()
		local := s.identity.get()
		switch {
		case applied != "" && local == "":
			if err := writeClusterID(s.cfg.DataDir, applied); err != nil {
				s.logger.Error("keeping the cluster ID", "err", err)
				return true
			}
			s.identity.set(applied)
			s.logger.Info("joined cluster", "cluster_id", applied)
			return false
		case applied != "" && applied != local:
			s.logger.Error("the replicated cluster ID differs from the data dir's: the data dir was mixed with another cluster's",
				"replicated", applied, "data_dir", local, "file", filepath.Join(s.cfg.DataDir, clusterIDFile))
			return false
		case applied != "":
			return false
		case s.IsLeader():
			id := local
			if id == "" {
				id = NewClusterID()
			}
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err := s.Propose(cctx, &Command{Type: CmdClusterID, Cluster: &ClusterIDCommand{ID: id}})
			cancel()
			if err != nil {
				s.logger.Debug("committing the cluster ID", "err", err)
			}
		}
		return true
	})
}
