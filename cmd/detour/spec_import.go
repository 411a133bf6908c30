package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/seed3787e6f1/detour/internal/specimport"
	"github.com/seed3787e6f1/detour/providers/cloudflare"
	"github.com/seed3787e6f1/detour/providers/route53"
	"github.com/spf13/cobra"
)

// importOpts are the flags of `detour spec import`.
type importOpts struct {
	zone        string
	out         string
	nameservers []string
	route53     string
	region      string
	endpoint    string
	cloudflare  string
	tokenEnv    string
	baseURL     string
}

func newSpecImportCmd() *cobra.Command {
	var o importOpts
	cmd := &cobra.Command{
		Use:   "import [ZONEFILE --zone NAME | --route53 HOSTED_ZONE_ID | --cloudflare ZONE_ID --zone NAME]",
		Short: "Turn a zone file, a Route 53 or a Cloudflare zone into a spec to review",
		Long: `Read DNS data a team already has and print a detour spec serving the same
answers: an RFC 1035 zone file, the record sets of a Route 53 hosted zone
(credentials from the AWS SDK's default chain: environment, shared config,
instance role), or the records of a Cloudflare zone (token from the
environment variable --token-env). Nothing is written anywhere but the
output; review it, then detour spec diff / apply.

Every record becomes static zone data with its TTL stated. What detour
cannot serve as it stands is left out with a comment saying why (Route 53
routing-policy record sets and aliases, DNSSEC records of another signer,
records detour's own providers manage); names answered by several
addresses get a comment: health-driven records with pools are where
detour's failover lives.`,
		Args: func(cmd *cobra.Command, args []string) error {
			n := len(args)
			if o.route53 != "" {
				n++
			}
			if o.cloudflare != "" {
				n++
			}
			if n != 1 {
				return usageError{errors.New("spec import needs one source: ZONEFILE, --route53 HOSTED_ZONE_ID or --cloudflare ZONE_ID")}
			}
			if o.route53 == "" && o.zone == "" {
				return usageError{errors.New("spec import needs --zone NAME for a zone file or a Cloudflare zone")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			z, err := o.read(cmd.Context(), args)
			if err != nil {
				return err
			}
			z.Nameservers = o.nameservers
			y, err := specimport.Render([]*specimport.Zone{z})
			if err != nil {
				return err
			}
			if o.out == "" || o.out == "-" {
				_, err = cmd.OutOrStdout().Write(y)
				return err
			}
			if err := os.WriteFile(o.out, y, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: zone %s, %d records\n", o.out, strings.TrimSuffix(z.Name, "."), len(z.Records))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.zone, "zone", "", "the zone's name (origin of a zone file; a Cloudflare zone's name)")
	f.StringVarP(&o.out, "output", "o", "", "write the spec to this file instead of standard output")
	f.StringSliceVar(&o.nameservers, "nameserver", nil, "detour's nameservers, for a source without SOA or apex NS records (Cloudflare)")
	f.StringVar(&o.route53, "route53", "", "import this Route 53 hosted zone ID")
	f.StringVar(&o.region, "region", "", "AWS signing region (default us-east-1)")
	f.StringVar(&o.endpoint, "endpoint", "", "Route 53 API endpoint (default AWS's)")
	f.StringVar(&o.cloudflare, "cloudflare", "", "import this Cloudflare zone ID")
	f.StringVar(&o.tokenEnv, "token-env", "CLOUDFLARE_API_TOKEN", "environment variable holding the Cloudflare API token")
	f.StringVar(&o.baseURL, "base-url", "", "Cloudflare API base URL (default Cloudflare's)")
	return cmd
}

// read returns the zone from the source the flags name.
func (o *importOpts) read(ctx context.Context, args []string) (*specimport.Zone, error) {
	switch {
	case o.route53 != "":
		name, sets, err := route53.Export(ctx, route53.Config{HostedZoneID: o.route53, Region: o.region, Endpoint: o.endpoint})
		if err != nil {
			return nil, fmt.Errorf("route53 hosted zone %s: %w", o.route53, err)
		}
		if o.zone != "" && !strings.EqualFold(strings.TrimSuffix(o.zone, ".")+".", name) {
			return nil, fmt.Errorf("route53 hosted zone %s is %s, not %s", o.route53, name, o.zone)
		}
		return specimport.FromRoute53(name, sets, "Route 53 hosted zone "+o.route53), nil
	case o.cloudflare != "":
		token := os.Getenv(o.tokenEnv)
		if token == "" {
			return nil, fmt.Errorf("environment variable %s (--token-env) is empty or unset", o.tokenEnv)
		}
		p, err := cloudflare.New(cloudflare.Config{ZoneID: o.cloudflare, Token: token, BaseURL: o.baseURL})
		if err != nil {
			return nil, err
		}
		recs, err := p.Export(ctx)
		if err != nil {
			return nil, fmt.Errorf("cloudflare zone %s: %w", o.cloudflare, err)
		}
		return specimport.FromCloudflare(o.zone, recs, "Cloudflare zone "+o.cloudflare), nil
	}
	f, err := os.Open(args[0])
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return specimport.ParseZoneFile(f, o.zone, filepath.Base(args[0]))
}
