// Package controller is a detour node's Raft store: it puts the
// replicated state machine (package machine) behind hashicorp/raft and
// turns what it holds into the DNS answers the node serves.
//
// It holds:
//
//   - the FSM (fsm.go, halt.go, stage.go, publisher.go, wait.go): the
//     adapter of machine.Machine to raft.FSM, the halt that stops a
//     replica from applying what it cannot, the background compile of
//     staged specs, and the publisher that builds the DNS answers of
//     each new View off the apply path;
//   - the Store (store.go, datadir.go, logstore.go, clusterid.go):
//     opening, replaying and closing a node's Raft, its data dir and
//     log store, the cluster's identity;
//   - forwarding over the node port (rpc.go, rpcpeer.go, nodeport.go,
//     readindex.go, wire_errors.go, membership.go): requests a follower
//     sends the leader, the leader's answers, membership changes; the
//     port itself (listener, connection kinds, hello, mutual TLS,
//     framing) is package nodeport;
//   - the leader's terms and duties (term.go, leadertasks.go,
//     leaderwatch.go, leader.go, clock.go, tick.go):
//     tasks started on gaining leadership and stopped on losing it,
//     staleness of observers, expiry of overrides, the cluster clock;
//   - the minority mode (minority.go): a node cut off from the quorum
//     answering from its own checks, when configured to;
//   - the bridges to the health engine (observer.go, heartbeat.go) and
//     to the DNS server (answers.go), and Local (local.go): the
//     single-node controller without Raft.
//
// The state machine's names (Command, State, View, the command types,
// the sentinel errors) are also declared here (machine_names.go), so
// callers need import only controller. DESIGN.md says what the Raft
// store relies on: determinism, replay on restart, connection kinds,
// read-your-writes, what a leader does.
package controller
