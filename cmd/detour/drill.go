package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/spf13/cobra"
)

func newDrillCmd() *cobra.Command {
	var (
		o        clientOpts
		lose     string
		specFile string
	)
	cmd := &cobra.Command{
		Use:   "drill --lose DATACENTER [--spec FILE]",
		Short: "Show the answers if a datacenter were lost; exit 1 if a record would not survive",
		Long: `Evaluate every record as if DATACENTER were gone — its endpoints down, its
observers silent — against the cluster's live health and overrides, with the
spec in force or with --spec FILE. Prints each record's answer now and after.
Exits 1, naming them, if any record would be left on its fallback, with no
answer, or pinned into the lost datacenter. Nothing is changed.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if lose == "" {
				return usageError{errors.New("--lose DATACENTER is required")}
			}
			req := api.DrillRequest{Lose: lose}
			if specFile != "" {
				y, err := loadSpecFile(cmd.ErrOrStderr(), specFile)
				if err != nil {
					return err
				}
				req.YAML = y
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			var res api.DrillResult
			if err := c.do(cmd.Context(), "POST", "/v1/drill", req, &res); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if o.json {
				if err := printJSON(out, res); err != nil {
					return err
				}
			} else {
				p := colorFor(out)
				src := fmt.Sprintf("spec version %d", res.SpecVersion)
				if specFile != "" {
					src = specFile
				}
				fmt.Fprintf(out, "drill: losing datacenter %s (%s, live health)\n", res.Lose, src)
				for _, r := range res.Records {
					after := strings.Join(r.Answers, ", ")
					if after == "" {
						after = "no data"
					}
					from := "pool " + r.Pool
					if r.Fallback {
						from = p.bad("FALLBACK")
					}
					mark := p.good("ok  ")
					if !r.Survives {
						mark = p.bad("FAIL")
					}
					now := strings.Join(r.Now, ", ")
					if now == "" {
						now = "no data"
					}
					fmt.Fprintf(out, "  %s %s %s: %s → %s  %s\n", mark, r.Name, r.Type, now, after, from)
					fmt.Fprintf(out, "         %s\n", p.dim(r.Reason))
					printGeo(out, r.GeoPolicy, r.Geo, p)
				}
				cp := p.good(res.ControlPlane.Summary)
				if !res.ControlPlane.QuorumKept {
					cp = p.bad(res.ControlPlane.Summary)
				}
				fmt.Fprintf(out, "control plane: %s\n", cp)
				if res.Survivable {
					fmt.Fprintf(out, "survivable: every record keeps a healthy pool without %s\n", res.Lose)
				}
			}
			if !res.Survivable {
				if res.ControlPlane.QuorumKept {
					fmt.Fprintf(cmd.ErrOrStderr(), "detour: drill: losing %s leaves %d record%s without a healthy pool:\n", res.Lose, len(res.Problems), plural(len(res.Problems)))
				} else {
					fmt.Fprintf(cmd.ErrOrStderr(), "detour: drill: losing %s is not survivable (%d problem%s):\n", res.Lose, len(res.Problems), plural(len(res.Problems)))
				}
				for _, pr := range res.Problems {
					fmt.Fprintf(cmd.ErrOrStderr(), "  %s\n", pr)
				}
				return errReported
			}
			return nil
		},
	}
	addClientFlags(cmd, &o)
	cmd.Flags().StringVar(&lose, "lose", "", "the datacenter to lose (required)")
	cmd.Flags().StringVar(&specFile, "spec", "", "drill this spec file instead of the one in force")
	return cmd
}
