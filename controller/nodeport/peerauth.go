package nodeport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/raft"
)

// ErrNotMember means a node-port peer's certificate names no member of the
// cluster: an operator's client certificate, a node that was removed, or a
// node of another cluster under the same CA.
var ErrNotMember = errors.New("certificate names no cluster member")

// NodeURIPrefix starts the URI SAN that names a node in its certificate:
// spiffe://detour/node/<node-id>.
const NodeURIPrefix = "spiffe://detour/node/"

// NodeURI is the URI SAN a node's certificate carries for node id.
func NodeURI(id string) string { return NodeURIPrefix + id }

// Members returns the servers a node accepts as peers: the current Raft
// configuration, or the initial voters while there is none. It is called
// on every handshake, so a removed member is refused from then on.
type Members func() []raft.Server

// peerAuth decides which certificates name a member, for both ends of a
// node-port connection.
type peerAuth struct {
	members Members
	roots   *x509.CertPool
}

// nodeIDs lists the node IDs a certificate's URI SANs name.
func nodeIDs(cert *x509.Certificate) []string {
	var ids []string
	for _, u := range cert.URIs {
		if u.Scheme != "spiffe" || u.Host != "detour" {
			continue
		}
		if id, ok := strings.CutPrefix(u.Path, "/node/"); ok && id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// identify returns the members cert names: the one its node URI names, or,
// for a certificate without a node URI, those whose Raft address host it
// carries as an IP or DNS SAN (several when members share a host).
func identify(cert *x509.Certificate, members []raft.Server) ([]string, error) {
	ids := nodeIDs(cert)
	switch {
	case len(ids) > 1:
		return nil, fmt.Errorf("%w: the certificate names %d nodes (%s); a node certificate names one", ErrNotMember, len(ids), strings.Join(ids, ", "))
	case len(ids) == 1:
		for _, m := range members {
			if string(m.ID) == ids[0] {
				return ids, nil
			}
		}
		return nil, fmt.Errorf("%w: it names node %q, which is not a member (members: %s)", ErrNotMember, ids[0], memberIDs(members))
	}
	var found []string
	for _, m := range members {
		host, _, err := net.SplitHostPort(string(m.Address))
		if err == nil && cert.VerifyHostname(host) == nil {
			found = append(found, string(m.ID))
		}
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%w: subject %q has no %s<id> URI SAN and no SAN for a member's address (members: %s)",
			ErrNotMember, cert.Subject.CommonName, NodeURIPrefix, memberIDs(members))
	}
	return found, nil
}

func memberIDs(members []raft.Server) string {
	ids := make([]string, 0, len(members))
	for _, m := range members {
		ids = append(ids, string(m.ID))
	}
	return strings.Join(ids, ", ")
}

// verifyClient checks, during the handshake, that an accepting node's peer
// is a member. Go has already verified the chain for client use; a node
// certificate must also be usable as a server's (docs/cluster.md), so an
// operator's client-only certificate that happens to carry a member host's
// address is not taken for that member.
func (a *peerAuth) verifyClient(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("%w: no certificate", ErrNotMember)
	}
	leaf := cs.PeerCertificates[0]
	if _, err := identify(leaf, a.members()); err != nil {
		return err
	}
	if !serverUsable(leaf) {
		return fmt.Errorf("%w: subject %q lacks the serverAuth extended key usage every node certificate has", ErrNotMember, leaf.Subject.CommonName)
	}
	return nil
}

// serverUsable reports whether cert names serverAuth (or any) among its
// extended key usages.
func serverUsable(cert *x509.Certificate) bool {
	return slices.ContainsFunc(cert.ExtKeyUsage, func(u x509.ExtKeyUsage) bool {
		return u == x509.ExtKeyUsageServerAuth || u == x509.ExtKeyUsageAny
	})
}

// verifyServer checks a dialled peer: its chain leads to the CA for server
// use, and it names the member at addr (or member id, when given), by
// node URI or by addr's host.
func (a *peerAuth) verifyServer(cs tls.ConnectionState, id, addr string) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("%w: no certificate", ErrNotMember)
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: a.roots, Intermediates: inter, CurrentTime: time.Now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if _, err := leaf.Verify(opts); err != nil {
		return err
	}
	members := a.members()
	var want []string
	for _, m := range members {
		if string(m.Address) == addr || (id != "" && string(m.ID) == id) {
			want = append(want, string(m.ID))
		}
	}
	if len(want) == 0 {
		return fmt.Errorf("%w: %s is no member's address (members: %s)", ErrNotMember, addr, memberIDs(members))
	}
	if ids := nodeIDs(leaf); len(ids) > 0 {
		if len(ids) == 1 && slices.Contains(want, ids[0]) {
			return nil
		}
		return fmt.Errorf("%w: %s belongs to %s, but its certificate names %s", ErrNotMember, addr, strings.Join(want, ", "), strings.Join(ids, ", "))
	}
	host, _, _ := net.SplitHostPort(addr)
	if err := leaf.VerifyHostname(host); err != nil {
		return fmt.Errorf("%w: %s belongs to %s, but its certificate has neither %s nor a SAN for %s", ErrNotMember, addr, strings.Join(want, ", "), NodeURI(want[0]), host)
	}
	return nil
}

// serverTLS is the accepting side's TLS: the node's own settings, and a
// peer that is not a member fails the handshake.
func (a *peerAuth) serverTLS(base *tls.Config) *tls.Config {
	cfg := base.Clone()
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	cfg.VerifyConnection = a.verifyClient
	return cfg
}

// clientTLS is the dialling side's TLS towards member id (if known) at
// addr: Go's host-name check is replaced by verifyServer, which also
// accepts a node URI.
func (a *peerAuth) clientTLS(base *tls.Config, id, addr string) *tls.Config {
	cfg := base.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(addr)
	}
	cfg.InsecureSkipVerify = true // verifyServer verifies the chain itself
	cfg.VerifyConnection = func(cs tls.ConnectionState) error { return a.verifyServer(cs, id, addr) }
	return cfg
}

// peerOf names the member on the other end of an accepted connection,
// empty for plaintext. Several IDs mean members that share the host the
// certificate names.
func (a *peerAuth) peerOf(c net.Conn) []string {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return nil
	}
	cs := tc.ConnectionState()
	if len(cs.PeerCertificates) == 0 {
		return nil
	}
	ids, _ := identify(cs.PeerCertificates[0], a.members())
	return ids
}
