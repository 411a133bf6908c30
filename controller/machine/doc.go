// Package machine is detour's replicated state machine: the State that
// every node of a cluster holds alike, the Commands that change it, and
// the immutable View readers take of it.
//
// It holds:
//
//   - the commands (command.go, command_table.go): each command type is
//     declared once in commandTable with its payload, its apply
//     function, whether it is once-only and whether it moves answers;
//   - the state and what applying changes (state.go, consensus.go,
//     failback.go, lastknown.go, incident.go, membership.go,
//     clusterid.go, provider_sync.go, stage.go): spec changes (staged,
//     then activated), observer reports and liveness, drains and pins,
//     members, heartbeats, incidents, notification cursors, provider
//     states; the consensus of fresh observers under the spec's quorum
//     rule, the drains laid over it, the fail-back holds and the last
//     known verdicts, from which package policy decides every record's
//     answer;
//   - the zones' SOA serials (serials.go), numbered from decisions and
//     the spec alone, never from how a DNS library renders records;
//   - Results (result.go): what a command produced, remembered for a
//     retried once-only copy;
//   - the View (view.go, view_extra.go, publish.go), published after
//     applies by copy-on-write of what the commands touched;
//   - snapshots (snapshot_format.go, machine.go): the state in a
//     numbered format.
//
// Machine (machine.go) is the API its owner drives: Apply a command at
// the index SetApplied names, Publish the View, Capture and Encode a
// snapshot, DecodeSnapshot and Restore one. It takes no lock and starts
// no goroutine: the owner (package controller's FSM, which adapts it
// to hashicorp/raft) serialises every call but View.
//
// The package imports spec, policy and the standard library only: no
// Raft, no DNS library, no network. Apply reads nothing but the command
// and the state (time is the command's, stamped by the leader; no
// wall clock, randomness, environment or map order reaches the state),
// so every replica that applies the same log holds the same state. A
// command type this version does not know is ErrUnknownCommand, and a
// staged spec this replica cannot compile ErrCompile: the owner halts
// rather than diverge. Any other error is a refusal every replica makes
// alike.
package machine
