package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// Cluster identity. Every cluster has an ID, drawn at random once: by a
// node that bootstraps a cluster of one at once, otherwise by the first
// leader, which commits it (CmdClusterID) so that every replica holds the
// same. Each node keeps it in its data dir (clusterIDFile) and states it
// when it opens a node-port connection; a peer of another cluster is
// refused on both ends. See docs/cluster.md.

// CmdClusterID records the cluster's ID. The first one applied stands;
// later copies (a leader that proposed before it applied an earlier
// one) change nothing.
const CmdClusterID CommandType = "cluster_id"

// ClusterIDCommand is CmdClusterID's payload.
type ClusterIDCommand struct {
	ID string `json:"id"`
}

// ErrOtherCluster means a data dir or a peer belongs to another cluster
// than this node's.
var ErrOtherCluster = errors.New("belongs to another cluster")

// clusterIDFile holds the cluster's ID in the data dir.
const clusterIDFile = "cluster-id"

// maxClusterID bounds an ID on the wire.
const maxClusterID = 64

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

// applyClusterID applies CmdClusterID: the first ID stands.
func (st *State) applyClusterID(c *ClusterIDCommand) error {
	if c == nil || c.ID == "" || len(c.ID) > maxClusterID {
		return fmt.Errorf("%w: cluster_id without a valid ID", ErrBadCommand)
	}
	if st.ClusterID == "" {
		st.ClusterID = c.ID
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
	t := time.NewTicker(dutyTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var applied string
		s.fsm.read(func(st *State) { applied = st.ClusterID })
		local := s.identity.get()
		switch {
		case applied != "" && local == "":
			if err := writeClusterID(s.cfg.DataDir, applied); err != nil {
				s.logger.Error("keeping the cluster ID", "err", err)
				continue
			}
			s.identity.set(applied)
			s.logger.Info("joined cluster", "cluster_id", applied)
			return
		case applied != "" && applied != local:
			s.logger.Error("the replicated cluster ID differs from the data dir's: the data dir was mixed with another cluster's",
				"replicated", applied, "data_dir", local, "file", filepath.Join(s.cfg.DataDir, clusterIDFile))
			return
		case applied != "":
			return
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
	}
}

// The node-port hello: after its kind byte, the dialling node states its
// cluster ID; the accepting node answers with a verdict and its own. Both
// refuse a peer of another cluster. An empty ID (a node that has not yet
// learnt its cluster's) matches any.
const (
	helloOK      byte = 0
	helloRefused byte = 1
)

// connHello is a connection that only exchanges cluster IDs: a starting
// node asks its peers which cluster they belong to.
const connHello byte = 'H'

func writeID(w io.Writer, prefix []byte, id string) error {
	_, err := w.Write(append(append(prefix, byte(len(id))), id...))
	return err
}

func readID(r io.Reader) (string, error) {
	var n [1]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return "", err
	}
	if n[0] > maxClusterID {
		return "", fmt.Errorf("cluster ID of %d bytes", n[0])
	}
	b := make([]byte, n[0])
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return string(b), nil
}

func otherCluster(mine, theirs string) bool { return mine != "" && theirs != "" && mine != theirs }

// acceptHello reads the dialler's cluster ID and answers; it reports
// whether the connection may go on.
func (m *Mux) acceptHello(c net.Conn, peer []string) bool {
	theirs, err := readID(c)
	if err != nil {
		m.logger.Debug("node port: no cluster ID", "remote", c.RemoteAddr().String(), "err", err)
		return false
	}
	mine := m.clusterID()
	verdict := helloOK
	if otherCluster(mine, theirs) {
		verdict = helloRefused
		m.logger.Error("node port: peer refused: it belongs to another cluster; a node never joins or absorbs another cluster",
			"remote", c.RemoteAddr().String(), "peer", strings.Join(peer, ","), "peer_cluster", theirs, "cluster", mine)
	}
	if err := writeID(c, []byte{verdict}, mine); err != nil {
		return false
	}
	return verdict == helloOK
}

// dialHello states this node's cluster ID on c, opened to addr, and reads
// the peer's verdict.
func (m *Mux) dialHello(c net.Conn, kind byte, addr string) (peerCluster string, err error) {
	mine := m.clusterID()
	if err := writeID(c, []byte{kind}, mine); err != nil {
		return "", err
	}
	var verdict [1]byte
	if _, err := io.ReadFull(c, verdict[:]); err != nil {
		return "", fmt.Errorf("node port %s: no answer to this node's cluster ID: %w", addr, err)
	}
	theirs, err := readID(c)
	if err != nil {
		return "", fmt.Errorf("node port %s: %w", addr, err)
	}
	if verdict[0] != helloOK || otherCluster(mine, theirs) {
		err := fmt.Errorf("%w: the node at %s is of cluster %s, this node of cluster %s", ErrOtherCluster, addr, orUnknown(theirs), orUnknown(mine))
		m.logger.Error("node port: peer refused: it belongs to another cluster; a node never joins or absorbs another cluster",
			"addr", addr, "peer_cluster", theirs, "cluster", mine)
		return theirs, err
	}
	return theirs, nil
}

// clusterID is the ID this mux states, empty before SetClusterID.
func (m *Mux) clusterID() string {
	if f := m.cluster.Load(); f != nil {
		return (*f)()
	}
	return ""
}

// SetClusterID makes the mux state and check id() on every connection.
func (m *Mux) SetClusterID(id func() string) { m.cluster.Store(&id) }

// ProbeCluster asks the node at addr (member id, if known) which cluster
// it belongs to: empty when it does not know yet.
func (m *Mux) ProbeCluster(ctx context.Context, id, addr string) (string, error) {
	c, err := m.dialConn(ctx, id, addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	return m.dialHello(c, connHello, addr)
}
