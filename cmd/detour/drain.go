package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/spf13/cobra"
)

func newDrainCmd() *cobra.Command {
	var (
		o      clientOpts
		reason string
		dur    string
		g      api.Guard
	)
	cmd := &cobra.Command{
		Use:   "drain TARGET --reason TEXT [--for DUR]",
		Short: "Take a datacenter, pool or endpoint out of the answers",
		Long: `Drain a datacenter, a pool, or one endpoint (pool/address): it counts as down
for every record, whatever the checks say, until undrained or until --for
runs out. The reason goes to the audit log (detour events).

A drain that would send a record to its fallback, or leave it no healthy
pool, is refused unless --force; --dry-run shows every record's answer
before and after, and changes nothing.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return usageError{errors.New("--reason is required: say why, for the audit log and whoever is paged next")}
			}
			return guardedCall(cmd, &o, "/v1/overrides/drain", api.DrainRequest{Target: args[0], Reason: reason, For: dur, Guard: g}, g)
		},
	}
	addClientFlags(cmd, &o)
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().StringVar(&dur, "for", "", "how long the drain holds, e.g. 30m (default: until undrained)")
	addGuardFlags(cmd, &g)
	return cmd
}

func newUndrainCmd() *cobra.Command {
	var o clientOpts
	cmd := &cobra.Command{
		Use:   "undrain TARGET",
		Short: "Return a drained datacenter, pool or endpoint to health-driven answers",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return overrideCall(cmd, &o, "/v1/overrides/undrain", api.DrainRequest{Target: args[0]})
		},
	}
	addClientFlags(cmd, &o)
	return cmd
}

// overrideCall posts an override and prints what it did and the
// records' answers right after.
func overrideCall(cmd *cobra.Command, o *clientOpts, path string, body any) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	var res api.OverrideResult
	if err := c.do(cmd.Context(), "POST", path, body, &res); err != nil {
		return err
	}
	if o.json {
		return printJSON(cmd.OutOrStdout(), res)
	}
	printRecords(cmd.OutOrStdout(), res.Message, res.Records, colorFor(cmd.OutOrStdout()))
	return nil
}

func printRecords(w io.Writer, msg string, recs []api.RecordStatus, p palette) {
	fmt.Fprintln(w, msg)
	for _, r := range recs {
		ans := strings.Join(r.Answers, ", ")
		if ans == "" {
			ans = "no data"
		}
		from := "pool " + r.Pool
		if r.Fallback {
			from = p.bad("FALLBACK")
		}
		fmt.Fprintf(w, "  %s %s → %s  %s\n", r.Name, r.Type, ans, from)
	}
}
