// Package nodeport is a detour node's node-to-node port (--raft-addr):
// one TCP listener, optionally mutual TLS, that carries Raft and the
// requests a follower forwards to the leader. It knows connections,
// peers and frames; what a request means is the controller's business.
//
// # Connection kinds
//
// The first byte a dialling node sends names the connection's kind:
//
//   - KindRaft ('R'): hashicorp/raft's NetworkTransport protocol. The
//     mux hands these connections to Raft through RaftLayer, a
//     raft.StreamLayer; Raft dials its peers through it too.
//   - KindRPC ('C'): forwarded requests, framed (WriteFrame, ReadFrame:
//     a 4-byte big-endian length, then that many bytes of JSON), served
//     by the handler given to Serve with the member the certificate
//     authenticated.
//   - 'H' (internal): the hello alone, no traffic after it; ProbeCluster
//     uses it to learn which cluster a peer belongs to.
//
// An unknown kind is logged and closed.
//
// # The hello
//
// Right after the kind byte the dialler states its cluster ID (one
// length byte, at most MaxClusterID, then the ID); the accepting node
// answers with a verdict byte (0 accepted, 1 refused) and its own ID in
// the same form. Each side refuses a peer whose ID differs from its own;
// an empty ID (a node that has not yet learnt its cluster's) matches
// any. A refusal is ErrOtherCluster on the dialling side and an error
// log on both. The ID comes from SetClusterID and is read afresh on
// every connection.
//
// # TLS peer authentication
//
// With a TLS configuration, every connection is mutual TLS and both ends
// accept only members: the servers the Members function returns (the
// Raft configuration, or the initial peers before there is one), asked
// on every handshake, so a removed node is refused from its next
// connection. A certificate names a member by its URI SAN
// spiffe://detour/node/<id> (NodeURI; one per certificate, and it
// decides), or, without one, by an IP or DNS SAN equal to the host of a
// member's address (then every member at that host). The accepting side
// also requires the serverAuth extended key usage, so an operator's
// client-only certificate never passes for a member, and hands the
// member IDs to the RPC handler. The dialling side verifies the chain
// for server use itself and requires the certificate to name the member
// at the address it dials, or the member ID it was given (DialMember),
// so that one member cannot answer for another. A refusal is
// ErrNotMember. DialCandidate dials a node that is not a member yet and
// accepts only the ID it is given.
//
// # Limits and timeouts
//
//   - An accepted connection has HandshakeTimeout (5 s) to finish TLS,
//     the kind byte and the hello; a dialler waits as long for the
//     verdict (less if its context ends sooner).
//   - One remote host may hold at most MaxPendingPerHost (32)
//     connections still authenticating; more are closed at once.
//   - A frame is at most MaxMessage (16 MiB): a longer length prefix is
//     ErrMessageTooLarge before anything else is read, and a writer
//     refuses before it sends anything.
//   - Past the hello, a connection has no deadline from this package:
//     Raft keeps pooled connections that may idle between elections, and
//     the RPC handler sets its own (the controller closes an idle
//     forwarding connection after two minutes).
//   - Close stops accepting and closes every connection it accepted, so
//     their readers return at once.
//
// # Spare Raft connections
//
// With KeepSpares (the controller always calls it), the mux keeps one
// greeted KindRaft connection ready to every other member and RaftLayer's
// Dial hands it out before dialling (and has the next dialled): a
// follower's first message to another follower is its pre-vote when the
// leader goes silent, and over a WAN the dial, TLS and hello would take
// three of the election timeout's four round trips. The keeper checks
// every second: a spare whose peer closed or reset it (a non-blocking
// peek at the socket; under TLS, the session tickets a TLS 1.3 server
// sends unasked are read off with a 20 ms read), one older than a minute,
// one greeted with another cluster ID than the node states now, and one
// to an address that is no member's any more are closed and replaced.
// Cost: one idle connection per pair of members, each way.
//
// Raft keeps the connections it dialled in a pool of its own and learns
// that a peer restarted only by spending a request on each of them. So
// RaftLayer's connections (raftConn) look at their socket when Raft
// begins a request (a write after the last answer was read) and, when
// the peer has closed it, put a fresh connection under it first.
package nodeport
