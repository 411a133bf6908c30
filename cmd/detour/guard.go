package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/spf13/cobra"
)

// addGuardFlags adds --dry-run and --force to a command whose change the
// API guards (drain, failover --to, spec apply).
func addGuardFlags(cmd *cobra.Command, g *api.Guard) {
	f := cmd.Flags()
	f.BoolVar(&g.DryRun, "dry-run", false, "show every record's answer before and after, and change nothing")
	f.BoolVar(&g.Force, "force", false, "make the change even if a record would go to its fallback or lose every healthy pool")
}

// guardedCall posts an override the API guards: a dry run prints its
// impact, a change prints what it did.
func guardedCall(cmd *cobra.Command, o *clientOpts, path string, body any, g api.Guard) error {
	if !g.DryRun {
		return overrideCall(cmd, o, path, body)
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	var imp api.Impact
	if err := c.do(cmd.Context(), "POST", path, body, &imp); err != nil {
		return err
	}
	return reportImpact(cmd, o, imp)
}

// reportImpact prints a dry run's impact; it fails when the change would
// be refused, as the change itself would.
func reportImpact(cmd *cobra.Command, o *clientOpts, imp api.Impact) error {
	if o.json {
		if err := printJSON(cmd.OutOrStdout(), imp); err != nil {
			return err
		}
	} else {
		printImpact(cmd.OutOrStdout(), imp, colorFor(cmd.OutOrStdout()))
	}
	if imp.Refused {
		fmt.Fprintf(cmd.ErrOrStderr(), "detour: it would be refused: %d record(s) left without a healthy answer; --force makes it anyway\n", len(imp.Harmful))
		return errReported
	}
	return nil
}

func printImpact(w io.Writer, imp api.Impact, p palette) {
	fmt.Fprintln(w, imp.Message)
	for _, r := range imp.Records {
		line := fmt.Sprintf("  %s %s: %s", r.Name, r.Type, impactAnswer(r.Before, p))
		if r.Changed {
			line += " → " + impactAnswer(r.After, p)
		} else {
			line += "  (unchanged)"
		}
		if r.Harm != "" {
			what := "would lose every healthy pool"
			if r.After.Fallback {
				what = "would go to its fallback"
			}
			line += "  " + p.bad("← "+what)
		}
		fmt.Fprintln(w, line)
	}
}

func impactAnswer(a api.RecordAnswer, p palette) string {
	s := strings.Join(a.Answers, ", ")
	if s == "" {
		s = "no data"
	}
	switch {
	case a.Fallback:
		return s + " " + p.bad("FALLBACK")
	case a.Pool != "":
		return s + " (pool " + a.Pool + ")"
	}
	return s
}
