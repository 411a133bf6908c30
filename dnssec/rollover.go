package dnssec

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// A CSK (or, keys split, KSK) rollover by double signature, driven by
// the keys' timing alone so that every node holding the same key files
// is at the same step:
//
//  1. Start: a new CSK is published and signs beside the old one (both
//     sign everything; the DNSKEY RRset holds both).
//  2. Once the DNSKEY RRset with the new key has been served for its
//     TTL (every cache that holds the DNSKEY RRset has the new key),
//     the operator gives the registrar the new DS in place of the old.
//  3. Once the new DS is visible at the parent, the old key is set to
//     leave when the old DS has left every cache (the parent's DS TTL
//     from then): Inactive and Delete at that time.
//  4. Done when that time has passed.
//
// With keys split the same steps roll the KSK: the new KSK signs the
// DNSKEY RRset beside the old one. The ZSK rolls by pre-publication
// (zsk.go).

// Rollover steps.
const (
	StepNone     = 0 // one signing key: no rollover under way
	StepWaitKey  = 1 // new key published; wait for the DNSKEY TTL
	StepSubmitDS = 2 // the new DS may go to the registrar
	StepRetiring = 3 // old key set to leave
	StepDone     = 4 // old key gone
)

// ErrRollover means a rollover step that cannot be taken now.
var ErrRollover = errors.New("rollover step not possible now")

// Rollover is where a zone's rollover stands.
type Rollover struct {
	// Kind is the keys rolled: csk, ksk or zsk (RoleCSK...).
	Kind string `json:"kind,omitempty"`
	Step int    `json:"step"`
	Old  uint16 `json:"old_key,omitempty"`
	New  uint16 `json:"new_key,omitempty"`
	// At is when the current step ends (StepWaitKey: when the DS may be
	// submitted; StepRetiring: when the old key leaves).
	At time.Time `json:"at,omitzero"`
	// Next says what the operator must do.
	Next string `json:"next"`
}

// RolloverState reads the step of the rollover of the zone's CSK or KSK
// (its keys with the SEP flag) from the zone's keys at now. dnskeyTTL is
// the DNSKEY RRset's TTL.
func RolloverState(keys []*Key, now time.Time, dnskeyTTL time.Duration) Rollover {
	kind := RoleCSK
	if len(ZSKs(keys)) > 0 {
		kind = RoleKSK
	}
	r := sepRollover(SEPKeys(keys), now, dnskeyTTL)
	r.Kind = kind
	if kind == RoleKSK {
		// Keys split: the rollover command rolls the ZSK unless told.
		r.Next = strings.ReplaceAll(r.Next, "--dir DIR", "--dir DIR --ksk")
	}
	return r
}

// sepRollover is RolloverState for the SEP keys.
func sepRollover(keys []*Key, now time.Time, dnskeyTTL time.Duration) Rollover {
	var live []*Key
	for _, k := range keys {
		if k.Published(now) || now.Before(k.Timing.Publish) {
			live = append(live, k)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].Timing.Publish.Before(live[j].Timing.Publish) })
	switch {
	case len(live) == 0:
		return Rollover{Step: StepNone, Next: "no key: run 'detour dnssec keygen' and copy the key directory to every node"}
	case len(live) == 1:
		k := live[0]
		r := Rollover{Step: StepNone, New: k.Tag(), Next: "no rollover under way ('detour dnssec rollover ZONE --dir DIR' starts one)"}
		if !k.Timing.Delete.IsZero() {
			r.Next = fmt.Sprintf("the only key %d is set to leave at %s: the zone will go unsigned", k.Tag(), k.Timing.Delete.UTC().Format(time.RFC3339))
		}
		for _, gone := range keys {
			if !gone.Timing.Delete.IsZero() && !now.Before(gone.Timing.Delete) {
				r.Step, r.Old = StepDone, gone.Tag()
				r.Next = fmt.Sprintf("rollover done: key %d left the zone; remove its files (%s.*) from every node when convenient", gone.Tag(), gone.BaseName())
			}
		}
		return r
	}
	old, nw := live[0], live[len(live)-1]
	r := Rollover{Old: old.Tag(), New: nw.Tag()}
	ready := nw.Timing.Publish.Add(dnskeyTTL)
	switch {
	case !old.Timing.Delete.IsZero() && now.Before(old.Timing.Delete):
		r.Step, r.At = StepRetiring, old.Timing.Delete
		r.Next = fmt.Sprintf("nothing: the old key %d signs until %s and then leaves the zone on every node holding these key files", old.Tag(), old.Timing.Delete.UTC().Format(time.RFC3339))
	case now.Before(ready):
		r.Step, r.At = StepWaitKey, ready
		r.Next = fmt.Sprintf("make sure every node has key %d (copy the key directory), then wait until %s (the DNSKEY TTL) before giving the registrar the new DS", nw.Tag(), ready.UTC().Format(time.RFC3339))
	default:
		r.Step = StepSubmitDS
		r.Next = fmt.Sprintf("give the registrar the DS of key %d ('detour dnssec ds ZONE') in place of key %d's; once it is visible at the parent, run 'detour dnssec rollover ZONE --dir DIR --parent SERVER'", nw.Tag(), old.Tag())
	}
	return r
}

// Retire sets the old key of a rollover at StepSubmitDS to stop signing
// and leave at now + dsTTL (the parent's DS TTL: by then no cache holds
// the old DS). The caller checked that the new DS is at the parent.
func Retire(keys []*Key, now time.Time, dnskeyTTL, dsTTL time.Duration) (*Key, error) {
	r := RolloverState(keys, now, dnskeyTTL)
	keys = SEPKeys(keys)
	if r.Step != StepSubmitDS {
		return nil, fmt.Errorf("dnssec: at step %d: %s: %w", r.Step, r.Next, ErrRollover)
	}
	for _, k := range keys {
		if k.Tag() == r.Old {
			at := now.Add(dsTTL).UTC().Truncate(time.Second).Add(time.Second)
			k.Timing.Inactive, k.Timing.Delete = at, at
			return k, nil
		}
	}
	return nil, fmt.Errorf("dnssec: old key %d not found: %w", r.Old, ErrRollover)
}
