package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/seed3787e6f1/detour/spec"
	"github.com/spf13/cobra"
)

// checkReport is `detour check --json` output.
type checkReport struct {
	File     string         `json:"file"`
	Valid    bool           `json:"valid"`
	Errors   []spec.Problem `json:"errors"`
	Warnings []spec.Problem `json:"warnings"`
}

func newCheckCmd() *cobra.Command {
	var strict, asJSON bool
	cmd := &cobra.Command{
		Use:   "check FILE",
		Short: "Validate and lint a spec offline",
		Long: `Validate a spec and lint it for likely mistakes, without a cluster.

Errors (exit 1) make the spec unusable. Warnings (exit 0, or 1 with --strict)
flag what is valid but dangerous: a failover record whose pools all sit in one
datacenter, fewer than three datacenters, health-driven TTLs above 300 s, a
check timeout close to its interval.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := args[0]
			rep := checkReport{File: file, Errors: []spec.Problem{}, Warnings: []spec.Problem{}}
			s, err := spec.Load(file)
			var serr *spec.Error
			switch {
			case errors.As(err, &serr):
				rep.Errors = serr.Problems
			case err != nil:
				var perr *fs.PathError
				if errors.As(err, &perr) {
					err = perr
				}
				rep.Errors = []spec.Problem{{Path: "file", Message: err.Error()}}
			default:
				rep.Valid = true
				rep.Warnings = append(rep.Warnings, s.Lint()...)
			}
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				for _, p := range rep.Errors {
					fmt.Fprintf(errOut, "%s: error: %s\n", file, p)
				}
				for _, p := range rep.Warnings {
					fmt.Fprintf(errOut, "%s: warning: %s\n", file, p)
				}
				if rep.Valid {
					fmt.Fprintf(out, "%s: valid: %s; %d warning%s\n", file, summary(s), len(rep.Warnings), plural(len(rep.Warnings)))
				} else {
					fmt.Fprintf(errOut, "%s: invalid: %d error%s\n", file, len(rep.Errors), plural(len(rep.Errors)))
				}
			}
			if !rep.Valid || (strict && len(rep.Warnings) > 0) {
				return errReported
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&strict, "strict", false, "treat warnings as errors (exit 1)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable output")
	return cmd
}

func summary(s *spec.Spec) string {
	return fmt.Sprintf("%d zone%s, %d datacenter%s, %d check%s, %d pool%s, %d record%s, %d provider%s",
		len(s.Zones), plural(len(s.Zones)), len(s.Datacenters), plural(len(s.Datacenters)),
		len(s.Checks), plural(len(s.Checks)), len(s.Pools), plural(len(s.Pools)),
		len(s.Records), plural(len(s.Records)), len(s.Providers), plural(len(s.Providers)))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
