package main

import (
	"fmt"
	"net"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/dnssec"
	"github.com/spf13/cobra"
)

func newDNSSECRolloverCmd() *cobra.Command {
	var a rolloverArgs
	cmd := &cobra.Command{
		Use:   "rollover ZONE --dir DIR [--parent SERVER] [--ksk]",
		Short: "Take the next step of ZONE's key rollover (CSK or KSK: double signature; ZSK: pre-publication) in the key directory DIR",
		Long: `A zone with one key (a CSK) rolls it by double signature, in steps gated on
TTLs and on the parent; a zone whose keys are split rolls its ZSK by
pre-publication, or with --ksk its KSK by double signature (the same steps
as a CSK's).

CSK or KSK:

  1. (no rollover under way) a new key is written to DIR, published and
     signing beside the old one from now. Copy DIR to every node.
  2. Once the DNSKEY TTL has passed, give the registrar the new DS
     ('detour dnssec ds ZONE --dir DIR').
  3. Once the new DS is visible at the parent, run this with --parent, a
     server that answers ZONE's DS (a parent name server or a resolver):
     the old key is set to stop signing and leave the zone when the
     parent's DS TTL has passed. Copy DIR to every node.

ZSK (pre-publication), in one run: the new ZSK is written, published
--publish-in from now, signs in place of the old one once the DNSKEY TTL and
--propagation have passed, and the old one leaves once --max-zone-ttl (the
zone's largest TTL: 'detour dnssec status' shows it) and --propagation have
passed after that. Copy DIR to every node before the new ZSK is published;
the steps are then taken by every node at the times in the key files.

Each run says where the rollover stands and what to do next; a step run too
early is refused. The steps are in the key files' timing, so every node
holding the same files is at the same step.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.zone = args[0]
			return rollover(cmd, a)
		},
	}
	keyDirFlags(cmd, &a.dir, &a.alg, &a.ttl)
	cmd.Flags().StringVar(&a.parent, "parent", "", "server (HOST or HOST:PORT) asked for ZONE's DS at step 3")
	cmd.Flags().DurationVar(&a.publishIn, "publish-in", 5*time.Minute, "at step 1, how long from now the new key is published: the time to copy the key directory to every node")
	cmd.Flags().BoolVar(&a.ksk, "ksk", false, "keys split: roll the KSK (double signature) rather than the ZSK")
	cmd.Flags().Uint32Var(&a.maxTTL, "max-zone-ttl", 86400, "ZSK rollover: the zone's largest TTL, in seconds, that the old ZSK stays published for after the switch")
	cmd.Flags().DurationVar(&a.propagation, "propagation", time.Hour, "ZSK rollover: the margin added to each wait (secondaries following, clocks apart)")
	return cmd
}

// rolloverArgs are a rollover command's arguments and flags.
type rolloverArgs struct {
	zone, dir, alg, parent string
	ttl, maxTTL            uint32
	publishIn, propagation time.Duration
	ksk                    bool
}

func rollover(cmd *cobra.Command, a rolloverArgs) error {
	zone, dir, alg, parent, ttl := a.zone, a.dir, a.alg, a.parent, a.ttl
	out := cmd.OutOrStdout()
	if err := ensureKeyDir(dir); err != nil {
		return err
	}
	ring, err := dnssec.LoadDir(dir)
	if err != nil {
		return err
	}
	keys, now, keyTTL := ring.Keys(zone), time.Now(), time.Duration(ttl)*time.Second
	if len(dnssec.ZSKs(keys)) > 0 && !a.ksk {
		return zskRollover(cmd, a, keys, now)
	}
	r := dnssec.RolloverState(keys, now, keyTTL)
	switch {
	case r.Step == dnssec.StepNone && len(dnssec.SEPKeys(keys)) > 0 || r.Step == dnssec.StepDone:
		k, err := dnssec.Generate(zone, alg, ttl, now.Add(a.publishIn))
		if err != nil {
			return err
		}
		newest(k, keys)
		if _, err := k.WriteFiles(dir); err != nil {
			return err
		}
		fmt.Fprintf(out, "step 1: new key %d written; copy %s to every node before %s, when it is published and signs beside the old one\n",
			k.Tag(), dir, k.Timing.Publish.UTC().Format(time.RFC3339))
	case r.Step == dnssec.StepSubmitDS && parent != "":
		dsTTL, err := dsAtParent(parent, zone, r.New)
		if err != nil {
			return err
		}
		old, err := dnssec.Retire(keys, now, keyTTL, dsTTL)
		if err != nil {
			return err
		}
		if _, err := old.WriteFiles(dir); err != nil {
			return err
		}
		fmt.Fprintf(out, "step 3: the new DS is at the parent (TTL %s); old key %d signs until %s, then leaves\n", dsTTL, old.Tag(), old.Timing.Delete.UTC().Format(time.RFC3339))
	default:
		fmt.Fprintf(out, "step %d: %s\n", r.Step, r.Next)
		return nil
	}
	keys = mustKeys(dir, zone)
	fmt.Fprintf(out, "next: %s\n", dnssec.RolloverState(keys, now, keyTTL).Next)
	return nil
}

// newest makes k's timing later than every key of keys, so that the
// rollover's order never rests on two keys made in the same second.
func newest(k *dnssec.Key, keys []*dnssec.Key) {
	for _, o := range keys {
		if !k.Timing.Publish.After(o.Timing.Publish) {
			at := o.Timing.Publish.Add(time.Second)
			k.Timing.Created, k.Timing.Publish, k.Timing.Activate = at, at, at
		}
	}
}

func mustKeys(dir, zone string) []*dnssec.Key {
	ring, err := dnssec.LoadDir(dir)
	if err != nil {
		return nil
	}
	return ring.Keys(zone)
}

// dsAtParent asks server for zone's DS and returns its TTL if the DS of
// key tag is there.
func dsAtParent(server, zone string, tag uint16) (time.Duration, error) {
	addr := server
	if _, _, err := net.SplitHostPort(server); err != nil {
		addr = net.JoinHostPort(server, "53")
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.CanonicalName(zone), dns.TypeDS)
	m.SetEdns0(1232, true)
	r, _, err := (&dns.Client{Net: "tcp", Timeout: 5 * time.Second}).Exchange(m, addr)
	if err != nil {
		return 0, fmt.Errorf("asking %s for %s DS: %w", server, zone, err)
	}
	for _, rr := range r.Answer {
		if ds, ok := rr.(*dns.DS); ok && ds.KeyTag == tag {
			return time.Duration(max(ds.Hdr.Ttl, 1)) * time.Second, nil
		}
	}
	return 0, fmt.Errorf("%s does not answer the DS of key %d for %s yet (%s, %d DS): %w", server, tag, zone, dns.RcodeToString[r.Rcode], len(r.Answer), dnssec.ErrRollover)
}
