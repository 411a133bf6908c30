package nodeport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
)

// ErrOtherCluster means a peer (or a data dir) belongs to another cluster
// than this node's.
var ErrOtherCluster = errors.New("belongs to another cluster")

// MaxClusterID bounds a cluster ID on the wire.
const MaxClusterID = 64

// The hello: after its kind byte, the dialling node states its cluster
// ID (a length byte, then the ID); the accepting node answers with a
// verdict byte and its own ID the same way. Both refuse a peer of
// another cluster. An empty ID (a node that has not yet learnt its
// cluster's) matches any.
const (
	helloOK      byte = 0
	helloRefused byte = 1
)

// kindHello is a connection that only exchanges cluster IDs: a starting
// node asks its peers which cluster they belong to (ProbeCluster).
const kindHello byte = 'H'

func writeID(w io.Writer, prefix []byte, id string) error {
	_, err := w.Write(append(append(prefix, byte(len(id))), id...))
	return err
}

func readID(r io.Reader) (string, error) {
	var n [1]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return "", err
	}
	if n[0] > MaxClusterID {
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

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// clusterID is the ID this mux states, empty before SetClusterID.
func (m *Mux) clusterID() string {
	if f := m.cluster.Load(); f != nil {
		return (*f)()
	}
	return ""
}

// SetClusterID makes the mux state and check id() on every connection;
// id returns "" while this node knows no cluster ID.
func (m *Mux) SetClusterID(id func() string) { m.cluster.Store(&id) }

// ProbeCluster asks the node at addr (member id, if known) which cluster
// it belongs to: empty when it does not know yet. The error wraps
// ErrOtherCluster (with the ID returned) when it is not this node's.
func (m *Mux) ProbeCluster(ctx context.Context, id, addr string) (string, error) {
	c, err := m.dialConn(ctx, id, addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	return m.dialHello(c, kindHello, addr)
}
