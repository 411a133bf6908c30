// Package controller is a detour node's replicated core: it turns the
// spec and what the nodes observe of endpoint health into the answers
// detour serves, and keeps every node of a cluster agreeing on them.
//
// It holds, today in one package:
//
//   - the bridge to the policy (policy.go, answers.go): package policy
//     decides each health-driven record's Decision, plain answer groups
//     with no DNS types; policy.go names its types here and answers.go
//     turns decisions into the DNS server's answers;
//   - the state machine (state.go, command.go, consensus.go, incident.go,
//     observer.go, serials.go): the replicated State changed only by applying
//     Commands (spec changes, observer reports and liveness, drains and
//     pins, members, heartbeats, incidents, notification cursors,
//     provider states), with the consensus of fresh observers under the
//     spec's quorum rule and the drains laid over it, and the zones' SOA
//     serials numbered from the decisions and the spec alone;
//   - the Raft store (fsm.go, store.go, logstore.go, datadir.go,
//     halt.go): the FSM adapting the State to hashicorp/raft and
//     publishing DNS answers after each apply, the Store that opens,
//     replays and closes a node's Raft, and the halt that stops a replica
//     from applying what it cannot;
//   - forwarding over the node port (rpc.go, rpcpeer.go, nodeport.go):
//     requests a follower sends the leader and the leader's answers; the
//     port itself (listener, connection kinds, hello, mutual TLS between
//     members, framing) is package nodeport;
//   - the leader's duties (leader.go, clock.go, provider_sync.go):
//     staleness of observers, expiry of overrides, the cluster clock;
//   - the health bridge (heartbeat.go): job heartbeats committed through
//     the cluster and coalesced per target;
//   - Local (local.go): the single-node controller without Raft.
//
// Apply reads nothing but the command and the state, so every replica
// holds the same state.
package controller
