package main

import (
	"fmt"
	"time"

	"github.com/seed3787e6f1/detour/dnssec"
	"github.com/spf13/cobra"
)

// zskRollover starts a ZSK rollover by pre-publication, its whole
// schedule written into the key files, or says where the one under way
// stands.
func zskRollover(cmd *cobra.Command, a rolloverArgs, keys []*dnssec.Key, now time.Time) error {
	out := cmd.OutOrStdout()
	if r := dnssec.ZSKRolloverState(keys, now); r.Step != dnssec.ZSKStepNone && r.Step != dnssec.ZSKStepDone {
		fmt.Fprintf(out, "zsk step %d: %s\n", r.Step, r.Next)
		return nil
	}
	plan := dnssec.ZSKPlan{
		PublishIn:   a.publishIn,
		DNSKEYTTL:   time.Duration(a.ttl) * time.Second,
		MaxTTL:      time.Duration(a.maxTTL) * time.Second,
		Propagation: a.propagation,
	}
	nw, old, err := dnssec.StartZSKRollover(keys, a.alg, now, plan)
	if err != nil {
		return err
	}
	if _, err := old.WriteFiles(a.dir); err != nil {
		return err
	}
	if _, err := nw.WriteFiles(a.dir); err != nil {
		return err
	}
	fmt.Fprintf(out, "zsk step 1: new ZSK %d written; published %s, signs in place of ZSK %d from %s; ZSK %d leaves at %s\n",
		nw.Tag(), stamp(nw.Timing.Publish), old.Tag(), stamp(nw.Timing.Activate), old.Tag(), stamp(old.Timing.Delete))
	fmt.Fprintf(out, "next: %s\n", dnssec.ZSKRolloverState(mustKeys(a.dir, a.zone), now).Next)
	return nil
}
