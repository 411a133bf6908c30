package main

import (
	"fmt"
	"net/url"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/spf13/cobra"
)

func newPlanCmd() *cobra.Command {
	var (
		o        clientOpts
		provider string
	)
	cmd := &cobra.Command{
		Use:   "plan [--provider NAME]",
		Short: "Show what each DNS provider would be told to change, without changing it",
		Long: `Read every provider of the spec (or only --provider NAME) through the node
asked, compare what it holds for detour's records with the current answers,
and print the changes a sync would write. Nothing is written. Exits 1 if a
provider could not be read.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			path := "/v1/providers/plan"
			if provider != "" {
				path += "?provider=" + url.QueryEscape(provider)
			}
			var res api.PlanResponse
			if err := c.do(cmd.Context(), "GET", path, nil, &res); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if o.json {
				if err := printJSON(out, res); err != nil {
					return err
				}
			} else {
				p := colorFor(out)
				if len(res.Plans) == 0 {
					fmt.Fprintln(out, "the spec has no providers")
				}
				for _, pl := range res.Plans {
					fmt.Fprintf(out, "%s (%s, zone %s): ", pl.Provider, pl.Type, pl.Zone)
					switch {
					case pl.Error != "":
						fmt.Fprintln(out, p.bad("cannot read: "+pl.Error))
					case len(pl.Changes) == 0:
						fmt.Fprintln(out, p.good("in sync, nothing to change"))
					default:
						fmt.Fprintf(out, "%d change%s\n", len(pl.Changes), plural(len(pl.Changes)))
						for _, ch := range pl.Changes {
							fmt.Fprintf(out, "  %s\n", ch)
						}
					}
				}
			}
			for _, pl := range res.Plans {
				if pl.Error != "" {
					return errReported
				}
			}
			return nil
		},
	}
	addClientFlags(cmd, &o)
	cmd.Flags().StringVar(&provider, "provider", "", "only this provider")
	return cmd
}
