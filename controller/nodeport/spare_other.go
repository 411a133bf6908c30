//go:build !unix

package nodeport

import "net"

// peek cannot look at a socket here: a spare counts as idle and alive
// until Raft finds otherwise (and dials anew).
func peek(net.Conn) peekState { return peekIdle }
