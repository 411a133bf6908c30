// Command detour is a DNS-based global failover controller: run a node with
// `detour agent`, steer a cluster with the client commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes (contract.md).
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// usageError marks a command line that could not be understood.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// failed marks an error already reported to the user.
var errReported = errors.New("reported")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr)
}

// runContext is run with a context that ends long-running client
// commands (events --follow) as an interrupt would.
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errReported):
		return exitFail
	case errors.As(err, new(exitCode)):
		var c exitCode
		errors.As(err, &c)
		return int(c)
	case isUsage(err):
		fmt.Fprintf(stderr, "detour: %v\nRun 'detour --help' for usage.\n", err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "detour: %v\n", err)
		return exitFail
	}
}

func isUsage(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "detour",
		Short: "DNS-based global failover controller",
		Long: `detour health-checks every site from every datacenter, agrees on what is up,
and answers DNS accordingly, so traffic leaves a dead datacenter within seconds.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// A bare `detour` is a usage error.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			_ = cmd.Help()
			return usageError{errors.New("no command given")}
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newAgentCmd(), newCheckCmd(), newVersionCmd(), newDemoCmd(), newPlanCmd(),
		newStatusCmd(), newDrainCmd(), newUndrainCmd(), newFailoverCmd(), newEventsCmd(),
		newSpecCmd(), newDrillCmd(), newMembersCmd(), newIncidentCmd(), newTLSCmd())
	root.AddCommand(newExplainCmd())
	root.AddCommand(newDNSSECCmd())
	return root
}

// exactArgs is cobra.ExactArgs returning a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// noArgs is cobra.NoArgs returning a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return usageError{err}
	}
	return nil
}
