package node

import (
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/raft"
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/controller/nodeport"
)

// Deps are a node's injected dependencies, apart from its settings: what
// tests and the demo hand a node to run it under their control. The zero
// value is a production node's: real listeners, dialers and clock, no
// hooks.
type Deps struct {
	// Listener and Dial replace the node port's listener and dialer
	// (fault injection).
	Listener net.Listener
	Dial     nodeport.DialFunc
	// SourceIP is the address health probes leave from.
	SourceIP net.IP
	// Now is this node's wall clock (skewed to show it rules nothing).
	Now func() time.Time
	// ApplyHook sees every command before it applies (may panic).
	ApplyHook func(*controller.Command)
	// WrapLogStore wraps the Raft log store (may fail).
	WrapLogStore func(raft.LogStore) raft.LogStore
	// APIExtra adds routes to the API (the demo's controls).
	APIExtra map[string]http.Handler
}
