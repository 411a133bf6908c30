package main

import (
	"errors"
	"strings"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/spf13/cobra"
)

func newFailoverCmd() *cobra.Command {
	var (
		o                  clientOpts
		to, reason, dur, t string
		release            bool
		g                  api.Guard
	)
	cmd := &cobra.Command{
		Use:   "failover RECORD --to POOL --reason TEXT [--for DUR] | failover RECORD --release",
		Short: "Pin a record to a pool, or release it to follow health again",
		Long: `Pin a health-driven record to one of its pools: it answers that pool's healthy
endpoints (all of them if none is healthy) whatever the checks say, until
released or until --for runs out. --release returns it to its policy; a
record held on a later pool by its fail-back hold-down (failback_after,
failback: manual) fails back at once.

A pin to a pool with too few endpoints up is refused unless --force;
--dry-run shows the record's answer before and after, and changes nothing.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case release && to != "":
				return usageError{errors.New("give --to POOL or --release, not both")}
			case release && (g.DryRun || g.Force):
				return usageError{errors.New("--dry-run and --force go with --to: a release returns the record to its policy")}
			case release:
				return overrideCall(cmd, &o, "/v1/overrides/release", api.PinRequest{Record: args[0], Type: t})
			case to == "":
				return usageError{errors.New("--to POOL or --release is required")}
			case strings.TrimSpace(reason) == "":
				return usageError{errors.New("--reason is required: say why, for the audit log and whoever is paged next")}
			}
			return guardedCall(cmd, &o, "/v1/overrides/pin", api.PinRequest{Record: args[0], Type: t, Pool: to, Reason: reason, For: dur, Guard: g}, g)
		},
	}
	addClientFlags(cmd, &o)
	f := cmd.Flags()
	f.StringVar(&to, "to", "", "the pool to answer from")
	f.BoolVar(&release, "release", false, "remove the pin")
	f.StringVar(&reason, "reason", "", "why (required with --to)")
	f.StringVar(&dur, "for", "", "how long the pin holds, e.g. 2h (default: until released)")
	f.StringVar(&t, "type", "", "the record's type, when several types share the name")
	addGuardFlags(cmd, &g)
	return cmd
}
