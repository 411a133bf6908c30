package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"text/tabwriter"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/dnssec"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/spec"
	"github.com/spf13/cobra"
)

func newDNSSECCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dnssec status|ds|keygen|rollover ZONE",
		Short: "DNSSEC: a zone's keys and signatures, its DS records, key rollovers",
		Long: `A zone with dnssec: {enabled: true} in the spec is signed online by every node
with the keys in the node's key directory (--dnssec-key-dir, default
<data-dir>/dnssec): the same key files on every node. 'keygen' makes a zone's
first key, 'ds' prints what to give the registrar, 'status' says what a node
signs with and where a rollover stands, 'rollover' takes its next step.
See docs/security.md (DNSSEC keys).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown dnssec subcommand %q (status, ds, keygen, rollover)", args[0])}
			}
			return usageError{errors.New("dnssec needs a subcommand: status, ds, keygen or rollover")}
		},
		RunE: func(*cobra.Command, []string) error { return nil },
	}
	cmd.AddCommand(newDNSSECStatusCmd(), newDNSSECDSCmd(), newDNSSECKeygenCmd(), newDNSSECRolloverCmd())
	return cmd
}

// fetchDNSSEC asks a node how it signs zone.
func fetchDNSSEC(cmd *cobra.Command, o *clientOpts, zone string) (dnsserver.DNSSECStatus, error) {
	var st dnsserver.DNSSECStatus
	c, err := o.client()
	if err != nil {
		return st, err
	}
	err = c.do(cmd.Context(), "GET", "/v1/dnssec/"+url.PathEscape(dns.CanonicalName(zone)), nil, &st)
	return st, err
}

func newDNSSECStatusCmd() *cobra.Command {
	var o clientOpts
	cmd := &cobra.Command{
		Use:   "status ZONE",
		Short: "How a node signs ZONE: keys, their state and timings, signatures, next refresh, rollover step",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := fetchDNSSEC(cmd, &o, args[0])
			if err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), st)
			}
			printDNSSECStatus(cmd.OutOrStdout(), st)
			if !st.Signing {
				return exitCode(1)
			}
			return nil
		},
	}
	addClientFlags(cmd, &o)
	return cmd
}

func printDNSSECStatus(out io.Writer, st dnsserver.DNSSECStatus) {
	p := colorFor(out)
	state := p.good("signed")
	if !st.Signing {
		state = p.bad("NOT SIGNED: " + st.Problem)
	}
	fmt.Fprintf(out, "zone %s: %s\n", st.Zone, state)
	fmt.Fprintf(out, "algorithm %s, keys %s, denial %s, serial %d, DNSKEY TTL %ds, largest TTL %ds\n", st.Algorithm, st.KeyScheme, st.Denial, st.Serial, st.DNSKEYTTL, st.MaxTTL)
	if st.Notice != "" {
		fmt.Fprintf(out, "%s\n", p.bad("notice: "+st.Notice))
	}
	if st.Signing {
		fmt.Fprintf(out, "signatures made %s, valid %s to %s (validity %s), next refresh %s (every %s)\n",
			stamp(st.Epoch), stamp(st.Inception), stamp(st.Expiration), st.Validity, stamp(st.NextRefresh), st.Refresh)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tROLE\tALGORITHM\tFLAGS\tSTATE\tPUBLISH\tACTIVATE\tINACTIVE\tDELETE")
	for _, k := range st.Keys {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", k.Tag, k.Role, k.Algorithm, k.Flags, k.State,
			stamp(k.Publish), stamp(k.Activate), stamp(k.Inactive), stamp(k.Delete))
	}
	_ = tw.Flush()
	fmt.Fprintf(out, "%s rollover: step %d; next: %s\n", st.Rollover.Kind, st.Rollover.Step, st.Rollover.Next)
	if z := st.ZSKRollover; z != nil {
		fmt.Fprintf(out, "zsk rollover: step %d; next: %s\n", z.Step, z.Next)
	}
}

// stamp is a time for a table: "-" when zero.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func newDNSSECDSCmd() *cobra.Command {
	var o clientOpts
	var dir string
	cmd := &cobra.Command{
		Use:   "ds ZONE",
		Short: "The DS records of ZONE's keys, to give the registrar (from a node, or from --dir)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if dir != "" {
				ring, err := dnssec.LoadDir(dir)
				if err != nil {
					return err
				}
				for _, k := range dnssec.SEPKeys(ring.Keys(args[0])) {
					fmt.Fprintf(out, "; key %d: %s\n%s\n", k.Tag(), k.State(time.Now()), k.DS())
				}
				return nil
			}
			st, err := fetchDNSSEC(cmd, &o, args[0])
			if err != nil {
				return err
			}
			if o.json {
				return printJSON(out, st.Keys)
			}
			for _, k := range st.Keys {
				if k.State != "removed" && k.DS != "" {
					fmt.Fprintf(out, "; key %d: %s\n%s\n", k.Tag, k.State, k.DS)
				}
			}
			return nil
		},
	}
	addClientFlags(cmd, &o)
	cmd.Flags().StringVar(&dir, "dir", "", "read the keys from this key directory instead of asking a node")
	return cmd
}

func newDNSSECKeygenCmd() *cobra.Command {
	var a keygenArgs
	cmd := &cobra.Command{
		Use:   "keygen ZONE --dir DIR [--keys csk|split]",
		Short: "Make ZONE's first signing key (a CSK), or a KSK and a ZSK, in the key directory DIR",
		Long: `keygen writes a new combined signing key (CSK) for ZONE into DIR, or with
--keys split a key-signing key (KSK) and a zone-signing key (ZSK), in BIND's
format (K<zone>+<alg>+<tag>.key and .private, mode 0600; DIR is made 0700).
Copy DIR to every node's --dnssec-key-dir: every node must sign with the same
keys. It refuses a zone that has a key already (use 'detour dnssec
rollover'), except --keys split on a zone with a CSK alone: that adds a ZSK,
published --publish-in from now and signing once the DNSKEY TTL and
--propagation have passed (the CSK then signs the DNSKEY RRset alone: a KSK).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.zone = args[0]
			return keygen(cmd, a)
		},
	}
	keyDirFlags(cmd, &a.dir, &a.alg, &a.ttl)
	cmd.Flags().StringVar(&a.scheme, "keys", spec.KeysCSK, "csk or split: the zone's dnssec.keys")
	cmd.Flags().DurationVar(&a.publishIn, "publish-in", 5*time.Minute, "a ZSK added to a CSK zone: how long from now it is published (the time to copy DIR to every node)")
	cmd.Flags().DurationVar(&a.propagation, "propagation", time.Hour, "a ZSK added to a CSK zone: the margin after the DNSKEY TTL before it signs")
	return cmd
}

func keyDirFlags(cmd *cobra.Command, dir, alg *string, ttl *uint32) {
	cmd.Flags().StringVar(dir, "dir", "", "the key directory (a copy of the nodes' --dnssec-key-dir)")
	cmd.Flags().StringVar(alg, "algorithm", spec.AlgECDSAP256SHA256, "ecdsap256sha256 or ed25519: the zone's dnssec.algorithm")
	cmd.Flags().Uint32Var(ttl, "dnskey-ttl", spec.DefaultDNSKEYTTL, "the zone's dnssec.dnskey_ttl, in seconds")
	_ = cmd.MarkFlagRequired("dir")
}

// ensureKeyDir makes dir (0700) if it is missing, and checks it.
func ensureKeyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return dnssec.CheckDir(dir)
}
