package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/seed3787e6f1/detour/internal/api/wire"
	"github.com/spf13/cobra"
)

func newExplainCmd() *cobra.Command {
	var (
		o                   clientOpts
		client, subnet, typ string
	)
	cmd := &cobra.Command{
		Use:   "explain RECORD (--client IP | --subnet CIDR) [--type A]",
		Short: "Show which rule or datacenter a client gets for a geo or nearest record, and why",
		Long: `Ask a node what its DNS server answers a client for a health-driven record:
where the node's geoip database puts the client (continent, country,
location, network), then each geo rule in order or each pool by distance,
and the answer. --subnet is what a resolver sends as EDNS Client Subnet;
--client is one address. Another node answers alike when its database is the
same (detour status flags one that differs).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (client == "") == (subnet == "") {
				return usageError{errors.New("give exactly one of --client IP and --subnet CIDR")}
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			q := url.Values{"name": {args[0]}, "type": {typ}}
			if client != "" {
				q.Set("client", client)
			} else {
				q.Set("subnet", subnet)
			}
			var ex wire.Explain
			if err := c.do(cmd.Context(), "GET", "/v1/explain?"+q.Encode(), nil, &ex); err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), ex)
			}
			printExplain(cmd.OutOrStdout(), ex, colorFor(cmd.OutOrStdout()))
			return nil
		},
	}
	addClientFlags(cmd, &o)
	cmd.Flags().StringVar(&client, "client", "", "the client's address")
	cmd.Flags().StringVar(&subnet, "subnet", "", "the client's subnet, as EDNS Client Subnet carries it")
	cmd.Flags().StringVar(&typ, "type", "A", "the record's type")
	return cmd
}

func printExplain(w io.Writer, ex wire.Explain, p palette) {
	fmt.Fprintf(w, "%s %s for client %s\n", ex.Name, ex.Type, ex.Client)
	pl := ex.Place
	where := "not in the database"
	if pl.Known {
		where = strings.TrimSpace(fmt.Sprintf("continent %s, country %s", firstOf(pl.Continent, "-"), firstOf(pl.Country, "-")))
		if pl.Lat != 0 || pl.Lon != 0 {
			where += fmt.Sprintf(", at %.2f, %.2f", pl.Lat, pl.Lon)
		}
	}
	if pl.Network != "" {
		where += " (network " + pl.Network + ")"
	}
	db := "no geoip database"
	if ex.GeoIP.SHA256 != "" {
		db = fmt.Sprintf("%s, sha256 %s", ex.GeoIP.Path, short(ex.GeoIP.SHA256))
	}
	fmt.Fprintf(w, "  place: %s  [%s]\n", where, p.dim(db))
	for _, s := range ex.Steps {
		fmt.Fprintf(w, "  - %s\n", s)
	}
	got := strings.Join(ex.Answers, ", ")
	if got == "" {
		got = "no data"
	}
	by := "pool " + ex.Pool
	switch {
	case ex.Rule != "":
		by = "rule [" + ex.Rule + "], " + by
	case ex.Default:
		by = "the answer for clients not placed (" + by + ")"
	}
	fmt.Fprintf(w, "%s %s  %s\n", p.bold("answer:"), got, by)
}

// short is the first 12 hex digits of a hash.
func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
