package main

import (
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seed3787e6f1/detour/internal/api/wire"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/spf13/cobra"
)

func newMembersCmd() *cobra.Command {
	var o clientOpts
	cmd := &cobra.Command{
		Use:   "members | members add ID@ADDR [--nonvoter] [--force] | members remove ID [--force] | members stepdown",
		Short: "List or change the cluster's members",
		Long: `List the cluster's members with their role, reachability and last contact as
the leader sees them, and the quorum ("2/3 voters up, can lose 0 more"); or
change them: add a node by its ID and Raft address, remove one, or ask the
leader to step down.

A node is added only if it answers on its node port (with the real TLS
handshake); it joins as a non-voter and the leader promotes it to voter once
it has caught up (--nonvoter: it stays a non-voter, serving DNS without
voting). A change that lowers fault tolerance (a 4th voter, removing down to 2
voters) is refused unless --force. Every change is in 'detour events' with
its author.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown members subcommand %q (add, remove, stepdown)", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			var res api.MembersResponse
			if err := c.do(cmd.Context(), "GET", "/v1/members", nil, &res); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if o.json {
				return printJSON(out, res.Members)
			}
			p := colorFor(out)
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tDATACENTER\tADDRESS\tVOTER\tROLE\tREACHABLE\tLAST CONTACT\tDNS\tAPI")
			for _, m := range res.Members {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, firstOf(m.Datacenter, "-"), m.Address, yesNo(m.Voter),
					roleText(m, p), reachText(m, p), lastContact(m), firstOf(m.DNSAddr, "-"), firstOf(m.APIAddr, "-"))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(out, quorumLine(res.Quorum, p))
			if res.Minority.CutOff {
				// As status does: the table is this node's last view.
				fmt.Fprintln(cmd.ErrOrStderr(), p.bad("!! THIS NODE IS CUT OFF; INFORMATION MAY BE OUT OF DATE"))
				fmt.Fprintln(cmd.ErrOrStderr(), p.bad("!! "+res.Minority.Message))
				return exitCode(1)
			}
			return nil
		},
	}
	addClientFlags(cmd, &o)
	cmd.AddCommand(newMembersAddCmd(), newMembersRemoveCmd(), newMembersStepdownCmd())
	return cmd
}

func newMembersAddCmd() *cobra.Command {
	var (
		o               clientOpts
		nonvoter, force bool
	)
	cmd := &cobra.Command{
		Use:   "add ID@ADDR [--nonvoter] [--force]",
		Short: "Add a node (started with --node-id ID --raft-addr ADDR): a non-voter, promoted to voter once caught up",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, addr, ok := strings.Cut(args[0], "@")
			if !ok || id == "" || addr == "" {
				return usageError{fmt.Errorf("%q: want ID@HOST:PORT, e.g. ap-south-1@10.0.4.1:7001", args[0])}
			}
			return doneCall(cmd, &o, "POST", "/v1/members", api.AddMember{ID: id, Address: addr, Nonvoter: nonvoter, Force: force})
		},
	}
	addClientFlags(cmd, &o)
	cmd.Flags().BoolVar(&nonvoter, "nonvoter", false, "serve DNS and replicate, but never vote")
	cmd.Flags().BoolVar(&force, "force", false, "add a voter although it makes the number of voters even (no more failures survived)")
	return cmd
}

func newMembersRemoveCmd() *cobra.Command {
	var (
		o     clientOpts
		force bool
	)
	cmd := &cobra.Command{
		Use:   "remove ID [--force]",
		Short: "Remove a node from the cluster; its health verdicts stop counting",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/v1/members/" + url.PathEscape(args[0])
			if force {
				path += "?force=true"
			}
			return doneCall(cmd, &o, "DELETE", path, nil)
		},
	}
	addClientFlags(cmd, &o)
	cmd.Flags().BoolVar(&force, "force", false, "remove a voter although fewer voter failures are then survived")
	return cmd
}

func newMembersStepdownCmd() *cobra.Command {
	var o clientOpts
	cmd := &cobra.Command{
		Use:   "stepdown",
		Short: "Ask the leader to hand leadership to another voter",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return doneCall(cmd, &o, "POST", "/v1/members/stepdown", nil)
		},
	}
	addClientFlags(cmd, &o)
	return cmd
}

func doneCall(cmd *cobra.Command, o *clientOpts, method, path string, body any) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	var res api.Done
	if err := c.do(cmd.Context(), method, path, body, &res); err != nil {
		return err
	}
	if o.json {
		return printJSON(cmd.OutOrStdout(), res)
	}
	fmt.Fprintln(cmd.OutOrStdout(), res.Message)
	return nil
}

// roleText is a member's role; a member the leader cannot reach is
// never shown as a follower.
func roleText(m wire.MemberInfo, p palette) string {
	r := firstOf(m.Role, "follower")
	switch {
	case m.Role == "unreachable":
		return p.bad("UNREACHABLE")
	case m.Leader:
		return p.bold(r)
	}
	return r
}

func reachText(m wire.MemberInfo, p palette) string {
	switch m.Reachability {
	case "reachable":
		return p.good("yes")
	case "unreachable":
		s := p.bad("NO")
		if m.Error != "" {
			s += " (" + m.Error + ")"
		}
		return s
	case "this node":
		return "this node"
	}
	return p.warn("unknown")
}

func lastContact(m wire.MemberInfo) string {
	switch {
	case m.Reachability == "reachable" && m.LastContactMS <= 0:
		return "now"
	case m.LastContactMS < 0 || (m.LastContactMS == 0 && m.Reachability != "reachable"):
		return "never"
	}
	return time.Duration(m.LastContactMS*float64(time.Millisecond)).Round(100*time.Millisecond).String() + " ago"
}

// quorumLine is the control plane in one line: "quorum: 2/3 voters up,
// can lose 0 more".
func quorumLine(q wire.Quorum, p palette) string {
	switch {
	case !q.OK:
		return "quorum: " + p.bad(q.Summary)
	case q.CanLose == 0:
		return "quorum: " + p.warn(q.Summary)
	}
	return "quorum: " + p.good(q.Summary)
}
