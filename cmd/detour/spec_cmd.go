package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/spec"
	"github.com/spf13/cobra"
)

func newSpecCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "spec get | apply FILE | diff FILE | import SOURCE",
		Short: "Read or replace the cluster's spec",
		Long: `The cluster holds one spec, replicated through Raft: every node answers from it.
get prints it; diff FILE shows what applying FILE would change; apply FILE
validates it, shows the changes and replaces the spec in force (a spec
applied by someone else in between is refused, not overwritten). import
turns a zone file, a Route 53 or a Cloudflare zone into a spec to review.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("spec needs a subcommand: get, apply FILE, diff FILE or import SOURCE")}
			}
			return usageError{fmt.Errorf("unknown spec subcommand %q (get, apply, diff, import)", args[0])}
		},
		RunE: func(*cobra.Command, []string) error { return nil },
	}
	cmd.AddCommand(newSpecGetCmd(), newSpecApplyCmd(), newSpecDiffCmd(), newSpecImportCmd())
	return cmd
}

func newSpecGetCmd() *cobra.Command {
	var o clientOpts
	cmd := &cobra.Command{
		Use:   "get",
		Short: "Print the spec in force (YAML)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			var res api.SpecResponse
			if err := c.do(cmd.Context(), "GET", "/v1/spec", nil, &res); err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "# spec version %d\n%s", res.Version, res.YAML)
			return nil
		},
	}
	addClientFlags(cmd, &o)
	return cmd
}

// loadSpecFile validates a spec file locally, printing every problem,
// and returns it normalised with zone files inlined.
func loadSpecFile(errOut io.Writer, file string) (string, error) {
	s, err := spec.Load(file)
	var serr *spec.Error
	if errors.As(err, &serr) {
		for _, p := range serr.Problems {
			fmt.Fprintf(errOut, "%s: error: %s\n", file, p)
		}
		fmt.Fprintf(errOut, "%s: invalid: %d error%s; nothing was sent\n", file, len(serr.Problems), plural(len(serr.Problems)))
		return "", errReported
	}
	if err != nil {
		return "", err
	}
	y, err := s.Marshal()
	if err != nil {
		return "", err
	}
	return string(y), nil
}

func newSpecDiffCmd() *cobra.Command {
	var o clientOpts
	cmd := &cobra.Command{
		Use:   "diff FILE",
		Short: "Show what applying FILE would change",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, _, d, err := diffSpec(cmd, &o, args[0])
			if err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), d)
			}
			printDiff(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], d, colorFor(cmd.OutOrStdout()))
			return nil
		},
	}
	addClientFlags(cmd, &o)
	return cmd
}

// diffSpec loads a spec file and asks the cluster what applying it would
// change; spec diff prints that, spec apply applies over that version.
func diffSpec(cmd *cobra.Command, o *clientOpts, file string) (*client, string, api.SpecDiff, error) {
	var d api.SpecDiff
	y, err := loadSpecFile(cmd.ErrOrStderr(), file)
	if err != nil {
		return nil, "", d, err
	}
	c, err := o.client()
	if err != nil {
		return nil, "", d, err
	}
	err = c.do(cmd.Context(), "POST", "/v1/spec/diff", api.SpecRequest{YAML: y}, &d)
	return c, y, d, err
}

func printDiff(w, errOut io.Writer, file string, d api.SpecDiff, p palette) {
	for _, wn := range d.Warnings {
		fmt.Fprintf(errOut, "%s: warning: %s: %s\n", file, wn.Path, wn.Message)
	}
	if len(d.Changes) == 0 && d.Diff == "" {
		fmt.Fprintf(w, "%s is the spec in force (version %d): nothing to change\n", file, d.Version)
		return
	}
	fmt.Fprintf(w, "changes from version %d:\n", d.Version)
	for _, c := range d.Changes {
		fmt.Fprintf(w, "  %s\n", c)
	}
	if d.Diff != "" {
		fmt.Fprintln(w)
		for _, line := range strings.SplitAfter(strings.TrimSuffix(d.Diff, "\n"), "\n") {
			switch {
			case strings.HasPrefix(line, "+"):
				line = p.good(strings.TrimSuffix(line, "\n")) + "\n"
			case strings.HasPrefix(line, "-"):
				line = p.bad(strings.TrimSuffix(line, "\n")) + "\n"
			}
			fmt.Fprint(w, line)
		}
		fmt.Fprintln(w)
	}
}

func newSpecApplyCmd() *cobra.Command {
	var (
		o clientOpts
		g api.Guard
	)
	cmd := &cobra.Command{
		Use:   "apply FILE",
		Short: "Validate FILE and make it the cluster's spec",
		Long: `Validate FILE, show what it changes, and make it the cluster's spec.

A spec that would send a record to its fallback, or leave it no healthy
pool, given the health and overrides in force, is refused unless --force;
--dry-run shows the changes and every record's answer before and after,
and applies nothing.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, y, d, err := diffSpec(cmd, &o, args[0])
			if err != nil {
				return err
			}
			if g.DryRun {
				return specDryRun(cmd, &o, c, args[0], y, d, g)
			}
			var res api.SpecResponse
			if err := c.do(cmd.Context(), "PUT", "/v1/spec", api.SpecRequest{YAML: y, IfVersion: d.Version, Guard: g}, &res); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if o.json {
				return printJSON(out, struct {
					Version uint64   `json:"version"`
					Changed bool     `json:"changed"`
					Changes []string `json:"changes"`
				}{res.Version, res.Changed, d.Changes})
			}
			for _, wn := range d.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: warning: %s: %s\n", args[0], wn.Path, wn.Message)
			}
			if !res.Changed {
				fmt.Fprintf(out, "%s is the spec in force (version %d): nothing applied\n", args[0], res.Version)
				return nil
			}
			fmt.Fprintf(out, "applied %s as spec version %d\n", args[0], res.Version)
			for _, ch := range d.Changes {
				fmt.Fprintf(out, "  %s\n", ch)
			}
			return nil
		},
	}
	addClientFlags(cmd, &o)
	addGuardFlags(cmd, &g)
	return cmd
}

// specDryRun shows what applying a spec would change and do to every
// record's answer, applying nothing.
func specDryRun(cmd *cobra.Command, o *clientOpts, c *client, file, y string, d api.SpecDiff, g api.Guard) error {
	if len(d.Changes) == 0 && d.Diff == "" {
		if o.json {
			return printJSON(cmd.OutOrStdout(), api.Impact{DryRun: true, Message: file + " is the spec in force: nothing to change", Records: []api.RecordImpact{}, Harmful: []string{}})
		}
		printDiff(cmd.OutOrStdout(), cmd.ErrOrStderr(), file, d, colorFor(cmd.OutOrStdout()))
		return nil
	}
	var imp api.Impact
	if err := c.do(cmd.Context(), "PUT", "/v1/spec", api.SpecRequest{YAML: y, IfVersion: d.Version, Guard: g}, &imp); err != nil {
		return err
	}
	if !o.json {
		printDiff(cmd.OutOrStdout(), cmd.ErrOrStderr(), file, d, colorFor(cmd.OutOrStdout()))
	}
	return reportImpact(cmd, o, imp)
}
