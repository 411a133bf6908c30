package controller

import (
	"strings"
	"sync/atomic"

	"github.com/hashicorp/raft"
	"github.com/seed3787e6f1/detour/controller/nodeport"
)

// The Store's side of the node port (package nodeport): the port knows
// connections, peers and frames; the Store tells it who the members are
// (membersOf) and its cluster ID (clusterIdentity), hands Raft its
// StreamLayer, serves KindRPC connections (serveRPC in rpc.go) and
// dials the leader with DialMember (forward, call) or a node about to
// join with DialCandidate (probeCandidate).

// membersOf reads the members from r once it is set: the latest Raft
// configuration, or the initial voters while it has no servers (a node
// waiting to be added trusts the cluster it was told to join).
func membersOf(r *atomic.Pointer[raft.Raft], initial []Peer) nodeport.Members {
	return func() []raft.Server {
		if rf := r.Load(); rf != nil {
			if f := rf.GetConfiguration(); f.Error() == nil && len(f.Configuration().Servers) > 0 {
				return f.Configuration().Servers
			}
		}
		out := make([]raft.Server, 0, len(initial))
		for _, p := range initial {
			out = append(out, raft.Server{ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Address)})
		}
		return out
	}
}

// memberIDs lists the servers' IDs, comma-separated, for messages.
func memberIDs(members []raft.Server) string {
	ids := make([]string, 0, len(members))
	for _, m := range members {
		ids = append(ids, string(m.ID))
	}
	return strings.Join(ids, ", ")
}
