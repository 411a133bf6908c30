package dnssec

import (
	"fmt"
	"sort"
	"time"
)

// A ZSK rollover by pre-publication (RFC 6781 4.1.1.1), for a zone whose
// keys are split. Starting it writes the whole schedule into the keys'
// timing, each step's time computed from the TTLs, so that every node
// holding the same key files takes each step at the same instant:
//
//  1. The new ZSK is published (in the DNSKEY RRset, not signing) a
//     while after the rollover starts: the time to copy the key
//     directory to every node.
//  2. Once the DNSKEY RRset holding it has been served for the DNSKEY
//     TTL (plus the propagation delay: secondaries, clocks), every cache
//     that holds the DNSKEY RRset has the new key: the new ZSK signs
//     and the old one stops.
//  3. Once the signatures the old ZSK made have left every cache (the
//     zone's largest TTL plus the propagation delay), the old ZSK leaves
//     the DNSKEY RRset.
//
// The DS is not touched: it points at the KSK.

// ZSK rollover steps.
const (
	ZSKStepNone      = 0 // one ZSK: no rollover under way
	ZSKStepPublish   = 1 // new ZSK written, to be published
	ZSKStepPublished = 2 // new ZSK published; the old one signs
	ZSKStepSwitched  = 3 // new ZSK signs; the old one is still published
	ZSKStepDone      = 4 // old ZSK gone
)

// ZSKPlan is the timing of a ZSK rollover.
type ZSKPlan struct {
	// PublishIn is how long after the start the new ZSK is published:
	// the time to copy the key directory to every node.
	PublishIn time.Duration
	// DNSKEYTTL is the zone's dnssec.dnskey_ttl.
	DNSKEYTTL time.Duration
	// MaxTTL is the largest TTL of the zone's signed RRsets.
	MaxTTL time.Duration
	// Propagation is the margin added to each wait, for secondaries to
	// follow and for clocks apart.
	Propagation time.Duration
}

// StartZSKRollover makes the new ZSK of a rollover by pre-publication
// and sets the old one's retirement, both from the plan: it returns the
// new key and the old one with its new timing, for the caller to write.
// The zone must have exactly one ZSK and no ZSK rollover under way.
func StartZSKRollover(keys []*Key, algorithm string, now time.Time, p ZSKPlan) (nw, old *Key, err error) {
	r := ZSKRolloverState(keys, now)
	if r.Step != ZSKStepNone && r.Step != ZSKStepDone {
		return nil, nil, fmt.Errorf("dnssec: ZSK rollover at step %d: %s: %w", r.Step, r.Next, ErrRollover)
	}
	live := liveKeys(ZSKs(keys), now)
	if len(live) != 1 {
		return nil, nil, fmt.Errorf("dnssec: %d ZSKs (want one: keys split, 'detour dnssec keygen --keys split'): %w", len(live), ErrRollover)
	}
	old = live[0]
	publish := now.Add(p.PublishIn).UTC().Truncate(time.Second)
	if !publish.After(old.Timing.Publish) {
		publish = old.Timing.Publish.Add(time.Second)
	}
	nw, err = GenerateZSK(old.Zone, algorithm, old.DNSKEY.Hdr.Ttl, publish)
	if err != nil {
		return nil, nil, err
	}
	nw.Timing.Created = now.UTC().Truncate(time.Second)
	nw.Timing.Activate = publish.Add(p.DNSKEYTTL + p.Propagation)
	old.Timing.Inactive = nw.Timing.Activate
	old.Timing.Delete = nw.Timing.Activate.Add(p.MaxTTL + p.Propagation)
	return nw, old, nil
}

// liveKeys returns the keys of keys published at now or to be published
// later, oldest first.
func liveKeys(keys []*Key, now time.Time) []*Key {
	var live []*Key
	for _, k := range keys {
		if k.Published(now) || now.Before(k.Timing.Publish) {
			live = append(live, k)
		}
	}
	sort.SliceStable(live, func(i, j int) bool { return live[i].Timing.Publish.Before(live[j].Timing.Publish) })
	return live
}

// ZSKRolloverState reads the step of the zone's ZSK rollover from its
// keys at now.
func ZSKRolloverState(keys []*Key, now time.Time) Rollover {
	zsks := ZSKs(keys)
	live := liveKeys(zsks, now)
	r := Rollover{Kind: RoleZSK}
	switch len(live) {
	case 0:
		r.Next = "no ZSK: the zone's keys are not split ('detour dnssec keygen --keys split' makes a KSK and a ZSK)"
		return r
	case 1:
		r.New = live[0].Tag()
		r.Next = "no ZSK rollover under way ('detour dnssec rollover ZONE --dir DIR' starts one)"
		for _, gone := range zsks {
			if !gone.Timing.Delete.IsZero() && !now.Before(gone.Timing.Delete) {
				r.Step, r.Old = ZSKStepDone, gone.Tag()
				r.Next = fmt.Sprintf("ZSK rollover done: ZSK %d left the zone; remove its files (%s.*) from every node when convenient", gone.Tag(), gone.BaseName())
			}
		}
		return r
	}
	old, nw := live[0], live[len(live)-1]
	r.Old, r.New = old.Tag(), nw.Tag()
	switch {
	case now.Before(nw.Timing.Publish):
		r.Step, r.At = ZSKStepPublish, nw.Timing.Publish
		r.Next = fmt.Sprintf("copy the key directory to every node before %s, when ZSK %d is published; it signs in place of ZSK %d from %s, and ZSK %d leaves at %s, with nothing more to do",
			stamp(nw.Timing.Publish), nw.Tag(), old.Tag(), stamp(nw.Timing.Activate), old.Tag(), stamp(old.Timing.Delete))
	case now.Before(nw.Timing.Activate):
		r.Step, r.At = ZSKStepPublished, nw.Timing.Activate
		r.Next = fmt.Sprintf("nothing: ZSK %d is published; it signs in place of ZSK %d from %s, once the DNSKEY RRset holding it has been in caches for its TTL",
			nw.Tag(), old.Tag(), stamp(nw.Timing.Activate))
	case old.Timing.Delete.IsZero():
		r.Step = ZSKStepSwitched
		r.Next = fmt.Sprintf("ZSK %d signs; ZSK %d has no removal time: set its Delete timing once the zone's largest TTL has passed", nw.Tag(), old.Tag())
	default:
		r.Step, r.At = ZSKStepSwitched, old.Timing.Delete
		r.Next = fmt.Sprintf("nothing: ZSK %d signs; ZSK %d stays in the DNSKEY RRset until %s, when the signatures it made have left every cache",
			nw.Tag(), old.Tag(), stamp(old.Timing.Delete))
	}
	return r
}

// stamp is t as RFC 3339 in UTC.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
