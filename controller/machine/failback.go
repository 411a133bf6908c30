package machine

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/seed3787e6f1/detour/policy"
	"github.com/seed3787e6f1/detour/spec"
)

// OverrideFailback is the kind of a ClearOverride that releases a held
// failback: the record fails back at once (detour failover --release).
const OverrideFailback = "failback"

// FailbackHold keeps a failover record on a later pool after an
// earlier one recovered (spec failback_after, failback: manual). It is
// replicated state, its times the state's clock, so every replica holds
// the same answer: a hold is made only by the apply of a health change,
// and ends only by a command (the leader's expiry sweep, an operator's
// release, or a change that makes it moot), never by a replica's clock.
type FailbackHold struct {
	Record string `json:"record"`
	Type   string `json:"type"`
	// Pool is the pool answering while held; Preferred the earlier pool
	// the policy would answer from.
	Pool      string `json:"pool"`
	Preferred string `json:"preferred"`
	// Since is when the earlier pool was healthy again; Until when the
	// hold ends, zero for failback: manual (an operator releases it).
	Since time.Time `json:"since"`
	Until time.Time `json:"until,omitzero"`
}

func holdKey(name, typ string) string { return name + "/" + typ }

// healthCause reports whether a command type moves answers because
// health changed: only those fail back under a hold. An operator's act
// (a release, an undrain, a new spec) and the expiry sweep take effect
// at once.
func healthCause(t CommandType) bool {
	switch t {
	case CmdObserverReport, CmdObserverLiveness, CmdRegisterMember, CmdRemoveMember:
		return true
	}
	return false
}

// holdFailbacksOf applies the failback holds to the policy's decisions
// ds (one per record, in spec order) under health h. With log set (the
// apply of a command), it makes the holds a health change calls for and
// drops the ones that no longer apply, logging both. only, when not nil,
// are the records to look at (in spec order): the others' decisions and
// holds stay as they are, and st.decisions is of the same spec as ds.
func (st *State) holdFailbacksOf(ds []Decision, h Health, log bool, only []int) []Decision {
	var old map[string]Decision
	if only == nil {
		old = map[string]Decision{}
		for _, d := range st.decisions {
			old[holdKey(d.Name, d.Type)] = d
		}
	}
	pins := st.pins()
	kept := map[string]bool{}
	looked := map[string]bool{} // with only: the holds it may drop
	for n := 0; n < len(st.spec.Records) && (only == nil || n < len(only)); n++ {
		i := n
		if only != nil {
			i = only[n]
		}
		r := &st.spec.Records[i]
		k := holdKey(r.Name, r.Type)
		looked[k] = true
		if i >= len(ds) || !r.HoldsFailback() || pins[k] != nil {
			continue
		}
		hold := st.Holds[k]
		if hold == nil && log && healthCause(st.cause) {
			prev := old[k]
			if only != nil {
				prev = st.decisions[i]
			}
			hold = st.newHold(r, prev, ds[i])
		}
		if hold == nil {
			continue
		}
		if want := poolIndex(r, ds[i].Pool); log && want >= 0 && want < poolIndex(r, hold.Preferred) {
			hold.Preferred = ds[i].Pool // an even earlier pool is back: fail back there
		}
		held, why := st.heldDecision(r, hold, h, ds[i])
		if why != "" {
			if log {
				st.event(st.Now, "failback", k, fmt.Sprintf("%s %s no longer held on pool %s: %s", r.Name, r.Type, hold.Pool, why))
			}
			continue
		}
		kept[k] = true
		ds[i] = held
	}
	if log {
		for _, k := range slices.Sorted(maps.Keys(st.Holds)) {
			if !kept[k] && (only == nil || looked[k]) {
				delete(st.Holds, k)
			}
		}
	}
	return ds
}

// newHold makes the hold for a record whose policy moves it from a later
// pool (prev) back to an earlier one (now), or returns nil.
func (st *State) newHold(r *spec.Record, prev, now Decision) *FailbackHold {
	from, to := poolIndex(r, prev.Pool), poolIndex(r, now.Pool)
	if prev.Fallback || now.Fallback || from < 0 || to < 0 || to >= from {
		return nil
	}
	hold := &FailbackHold{Record: r.Name, Type: r.Type, Pool: prev.Pool, Preferred: now.Pool, Since: st.Now}
	when := "until an operator releases it (detour failover " + r.Name + " --release)"
	if r.Failback != spec.FailbackManual {
		hold.Until = st.Now.Add(r.FailbackAfter.D())
		when = fmt.Sprintf("until %s (failback_after %s)", hold.Until.UTC().Format(time.RFC3339), r.FailbackAfter)
	}
	if st.Holds == nil {
		st.Holds = map[string]*FailbackHold{}
	}
	st.Holds[holdKey(r.Name, r.Type)] = hold
	st.event(st.Now, "failback", holdKey(r.Name, r.Type), fmt.Sprintf("%s %s: pool %s is healthy again; staying on pool %s %s", r.Name, r.Type, now.Pool, prev.Pool, when))
	return hold
}

// heldDecision is the record's answer from the held pool, or why the
// hold no longer applies.
func (st *State) heldDecision(r *spec.Record, hold *FailbackHold, h Health, chosen Decision) (Decision, string) {
	at, want := poolIndex(r, hold.Pool), poolIndex(r, chosen.Pool)
	switch {
	case at < 0:
		return Decision{}, "the pool is no longer one of the record's"
	case chosen.Fallback || want < 0 || want >= at:
		return Decision{}, "the earlier pools are unhealthy again"
	}
	var p *spec.Pool
	for i := range st.spec.Pools {
		if st.spec.Pools[i].Name == hold.Pool {
			p = &st.spec.Pools[i]
		}
	}
	ps := policy.EvaluatePool(p, h)
	if !ps.Healthy {
		return Decision{}, "it is unhealthy: " + ps.Summary()
	}
	d := Decision{Name: r.Name, Type: r.Type, Pool: p.Name, Answers: policy.AnswerAddrs(r, ps.Up), TTL: r.TTL}
	d.Reason = fmt.Sprintf("held on pool %s: pool %s is healthy again since %s; failback ", p.Name, hold.Preferred, hold.Since.UTC().Format(time.RFC3339))
	if hold.Until.IsZero() {
		d.Reason += "is manual (detour failover " + r.Name + " --release)"
	} else {
		d.Reason += "at " + hold.Until.UTC().Format(time.RFC3339)
	}
	d.Groups = policy.Single(d.Answers)
	return d, ""
}

func poolIndex(r *spec.Record, pool string) int {
	return slices.IndexFunc(r.Pools, func(p spec.PoolRef) bool { return p.Pool == pool })
}

// expireHolds ends the holds whose time has come (the leader's expiry
// sweep, CmdExpireOverrides): the derivation that follows fails back.
func (st *State) expireHolds(now time.Time) {
	for _, k := range slices.Sorted(maps.Keys(st.Holds)) {
		hold := st.Holds[k]
		if !hold.Until.IsZero() && !hold.Until.After(now) {
			delete(st.Holds, k)
			st.event(now, "failback", k, fmt.Sprintf("%s %s fails back to pool %s: healthy since %s", hold.Record, hold.Type, hold.Preferred, hold.Since.UTC().Format(time.RFC3339)))
		}
	}
}

// holdsDue reports whether a hold's time has come by the leader's now.
func (st *State) holdsDue(now time.Time) bool {
	for _, hold := range st.Holds {
		if !hold.Until.IsZero() && !hold.Until.After(now) {
			return true
		}
	}
	return false
}

// releaseHold ends a record's hold at an operator's word.
func (st *State) releaseHold(c *ClearOverride, now time.Time) error {
	if st.spec != nil {
		if r := st.record(c.Record, c.Type); r != nil {
			c.Record, c.Type = r.Name, r.Type
		}
	}
	k := holdKey(c.Record, c.Type)
	hold := st.Holds[k]
	if hold == nil {
		return fmt.Errorf("%w: %s %s is not held on a later pool", ErrNotFound, c.Record, c.Type)
	}
	delete(st.Holds, k)
	st.event(now, "failback", k, fmt.Sprintf("%s %s released by %s: failing back to pool %s", hold.Record, hold.Type, orUnknown(c.Author), hold.Preferred))
	return nil
}

// Held reports the failback hold on a record, or nil.
func (st *State) Held(name, typ string) *FailbackHold {
	if h := st.Holds[holdKey(name, typ)]; h != nil {
		c := *h
		return &c
	}
	return nil
}
