package main

import (
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/spf13/cobra"
)

func newMembersCmd() *cobra.Command {
	var o clientOpts
	cmd := &cobra.Command{
		Use:   "members | members add ID@ADDR [--nonvoter] | members remove ID | members stepdown",
		Short: "List or change the cluster's members",
		Long: `List the cluster's members (Raft configuration and what each registered), or
change them: add a node by its ID and Raft address (--nonvoter: it serves DNS
but does not vote), remove one, or ask the leader to step down.`,
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
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tDATACENTER\tADDRESS\tVOTER\tLEADER\tDNS\tAPI")
			for _, m := range res.Members {
				lead := ""
				if m.Leader {
					lead = "*"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, firstOf(m.Datacenter, "-"), m.Address, yesNo(m.Voter), lead, firstOf(m.DNSAddr, "-"), firstOf(m.APIAddr, "-"))
			}
			return tw.Flush()
		},
	}
	addClientFlags(cmd, &o)
	cmd.AddCommand(newMembersAddCmd(), newMembersRemoveCmd(), newMembersStepdownCmd())
	return cmd
}

func newMembersAddCmd() *cobra.Command {
	var (
		o        clientOpts
		nonvoter bool
	)
	cmd := &cobra.Command{
		Use:   "add ID@ADDR [--nonvoter]",
		Short: "Add a node (started with --node-id ID --raft-addr ADDR) to the cluster",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, addr, ok := strings.Cut(args[0], "@")
			if !ok || id == "" || addr == "" {
				return usageError{fmt.Errorf("%q: want ID@HOST:PORT, e.g. ap-south-1@10.0.4.1:7001", args[0])}
			}
			return doneCall(cmd, &o, "POST", "/v1/members", api.AddMember{ID: id, Address: addr, Nonvoter: nonvoter})
		},
	}
	addClientFlags(cmd, &o)
	cmd.Flags().BoolVar(&nonvoter, "nonvoter", false, "serve DNS and replicate, but do not vote")
	return cmd
}

func newMembersRemoveCmd() *cobra.Command {
	var o clientOpts
	cmd := &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a node from the cluster; its health verdicts stop counting",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return doneCall(cmd, &o, "DELETE", "/v1/members/"+url.PathEscape(args[0]), nil)
		},
	}
	addClientFlags(cmd, &o)
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
