package main

import (
	"fmt"
	"time"

	"github.com/seed3787e6f1/detour/dnssec"
	"github.com/seed3787e6f1/detour/spec"
	"github.com/spf13/cobra"
)

// keygenArgs are a keygen command's arguments and flags.
type keygenArgs struct {
	zone, dir, alg, scheme string
	ttl                    uint32
	publishIn, propagation time.Duration
}

// keygen writes a zone's first keys: a CSK, or a KSK and a ZSK; or, for
// a zone with a CSK alone and --keys split, a pre-published ZSK.
func keygen(cmd *cobra.Command, a keygenArgs) error {
	if a.scheme != spec.KeysCSK && a.scheme != spec.KeysSplit {
		return usageError{fmt.Errorf("--keys %q: csk or split", a.scheme)}
	}
	if err := ensureKeyDir(a.dir); err != nil {
		return err
	}
	ring, err := dnssec.LoadDir(a.dir)
	if err != nil {
		return err
	}
	out, now := cmd.OutOrStdout(), time.Now()
	if keys := ring.Keys(a.zone); len(keys) > 0 {
		if a.scheme != spec.KeysSplit || len(dnssec.ZSKs(keys)) > 0 {
			return fmt.Errorf("%s has key %d in %s already: a second key is a rollover ('detour dnssec rollover')", a.zone, keys[0].Tag(), a.dir)
		}
		return addZSK(cmd, a, keys, now)
	}
	k, err := dnssec.Generate(a.zone, a.alg, a.ttl, now)
	if err != nil {
		return err
	}
	path, err := k.WriteFiles(a.dir)
	if err != nil {
		return err
	}
	role := "CSK"
	if a.scheme == spec.KeysSplit {
		role = "KSK"
		z, err := dnssec.GenerateZSK(a.zone, a.alg, a.ttl, now)
		if err != nil {
			return err
		}
		zpath, err := z.WriteFiles(a.dir)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "ZSK %d written to %s\n", z.Tag(), zpath)
	}
	fmt.Fprintf(out, "%s %d written to %s\nits DS, for the registrar once every node signs:\n%s\n", role, k.Tag(), path, k.DS())
	return nil
}

// addZSK splits a CSK zone's keys: a ZSK published publishIn from now,
// signing once the DNSKEY RRset holding it has been cached for its TTL
// (and the propagation margin); from then on the CSK signs the DNSKEY
// RRset alone.
func addZSK(cmd *cobra.Command, a keygenArgs, keys []*dnssec.Key, now time.Time) error {
	publish := now.Add(a.publishIn).UTC().Truncate(time.Second)
	z, err := dnssec.GenerateZSK(a.zone, a.alg, a.ttl, publish)
	if err != nil {
		return err
	}
	z.Timing.Created = now.UTC().Truncate(time.Second)
	z.Timing.Activate = publish.Add(time.Duration(a.ttl)*time.Second + a.propagation)
	path, err := z.WriteFiles(a.dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "ZSK %d written to %s: copy %s to every node before %s, when it is published; it signs from %s, and key %d then signs the DNSKEY RRset alone (a KSK: its DS stays)\n",
		z.Tag(), path, a.dir, stamp(z.Timing.Publish), stamp(z.Timing.Activate), keys[0].Tag())
	return nil
}
