package controller

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// maxAuthor bounds the author a forwarding node vouches for.
const maxAuthor = 128

// vouch turns a forwarded request into what this node, the leader, runs:
// the authors in it are the users the forwarding member vouches for, and
// are recorded with that member's authenticated ID ("alice via us-west-1");
// a member reports and registers only as itself. peer is the member the
// connection authenticated (several IDs when members share the host its
// certificate names), empty for plaintext, where from, the sender's claim,
// is all there is.
func vouch(req rpcRequest, peer []string) (rpcRequest, error) {
	if req.Op != opApply {
		return req, nil
	}
	c, err := DecodeCommand(req.Data)
	if err != nil {
		return req, fmt.Errorf("%w: %w: %w", ErrRejected, ErrBadCommand, err)
	}
	if c.Type.LeaderOnly() {
		return req, fmt.Errorf("%w: %w: %s is the leader's own decision; no node forwards it", ErrRejected, ErrBadCommand, c.Type)
	}
	if err := bindSender(c, peer); err != nil {
		return req, fmt.Errorf("%w: %w: %w", ErrRejected, ErrBadCommand, err)
	}
	hop := strings.Join(peer, " or ")
	if len(peer) == 0 {
		hop = orUnknown(req.From) + " (plaintext, unauthenticated)"
	}
	for _, a := range authors(c) {
		*a = via(*a, hop)
	}
	if req.Data, err = c.Encode(); err != nil {
		return req, err
	}
	return req, nil
}

// bindSender refuses a command in which an authenticated member speaks for
// another node.
func bindSender(c *Command, peer []string) error {
	if len(peer) == 0 {
		return nil
	}
	var claimed string
	switch {
	case c.Type == CmdObserverReport && c.Report != nil:
		claimed = c.Report.Observer
	case c.Type == CmdRegisterMember && c.Member != nil:
		claimed = c.Member.ID
	default:
		return nil
	}
	if !slices.Contains(peer, claimed) {
		return fmt.Errorf("%s sent by %s: a member speaks only for itself", c.Type, strings.Join(peer, " or "))
	}
	return nil
}

// authors points at every author field c carries, whatever its type.
func authors(c *Command) []*string {
	var out []*string
	if c.Spec != nil {
		out = append(out, &c.Spec.Author)
	}
	if c.Override != nil {
		out = append(out, &c.Override.Author)
	}
	if c.Clear != nil {
		out = append(out, &c.Clear.Author)
	}
	if c.Incident != nil {
		out = append(out, &c.Incident.Author)
	}
	if c.Membership != nil {
		out = append(out, &c.Membership.Author)
	}
	return out
}

// via records claim as vouched for by hop. A claim that could pass for a
// chain of hops, or is not plain text, is quoted, so the last " via " is
// always the node that forwarded it.
func via(claim, hop string) string {
	claim = orUnknown(claim)
	if len(claim) > maxAuthor {
		claim = claim[:maxAuthor]
	}
	if strings.Contains(claim, " via ") || strings.ContainsFunc(claim, func(r rune) bool { return !unicode.IsPrint(r) || r == '"' }) {
		claim = strconv.Quote(claim)
	}
	return claim + " via " + hop
}
