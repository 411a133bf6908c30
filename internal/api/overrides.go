package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/spec"
)

// MaxOverride bounds --for: an override meant to last longer should be
// a spec change.
const MaxOverride = 30 * 24 * time.Hour

func (s *Server) overrides(w http.ResponseWriter, _ *http.Request) {
	view := s.store.FSM().View()
	out := wireOverrides(view.Overrides())
	writeJSON(w, http.StatusOK, OverridesResponse{Overrides: out, Index: view.Index(), Freshness: s.freshness()})
}

func (s *Server) drain(w http.ResponseWriter, r *http.Request) {
	var req DrainRequest
	if !decode(w, r, &req) {
		return
	}
	d, ok := s.checkOverride(w, req.Reason, req.For)
	if !ok {
		return
	}
	// The target and the guard are judged on state as new as the
	// leader's, not this node's possibly older copy.
	s.catchUp(r.Context())
	if !s.checkTarget(w, req.Target) {
		return
	}
	note, ok := s.guardWrite(w, r, req.Guard, change{drain: req.Target}, "draining "+req.Target)
	if !ok {
		return
	}
	o := &controller.Override{Kind: controller.OverrideDrain, Target: req.Target, Reason: req.Reason, Author: caller(r.Context()).Name}
	timed(o, d)
	s.overrideCommit(w, r, &controller.Command{Type: controller.CmdSetOverride, Override: o}, fmt.Sprintf("drained %s: %s%s", req.Target, req.Reason, note), "")
}

func (s *Server) undrain(w http.ResponseWriter, r *http.Request) {
	var req DrainRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Target == "" {
		writeError(w, http.StatusBadRequest, "target is required: a datacenter, pool or pool/address")
		return
	}
	// Whether it is drained is the cluster's to say, where the clear
	// applies: this node's own state may not have the drain yet.
	c := &controller.ClearOverride{Kind: controller.OverrideDrain, Target: req.Target, Author: caller(r.Context()).Name}
	s.overrideCommit(w, r, &controller.Command{Type: controller.CmdClearOverride, Clear: c}, "undrained "+req.Target,
		fmt.Sprintf("%s is not drained (see `detour status` for the overrides in force)", req.Target))
}

func (s *Server) pin(w http.ResponseWriter, r *http.Request) {
	var req PinRequest
	if !decode(w, r, &req) {
		return
	}
	d, ok := s.checkOverride(w, req.Reason, req.For)
	if !ok {
		return
	}
	if req.Pool == "" {
		writeError(w, http.StatusBadRequest, "pool is required: the pool to pin %s to (--to POOL)", req.Record)
		return
	}
	s.catchUp(r.Context()) // the record and the guard are judged on state as new as the leader's
	rec, ok := s.checkRecord(w, req.Record, req.Type)
	if !ok {
		return
	}
	var pools []string
	for _, ref := range rec.Pools {
		pools = append(pools, ref.Pool)
	}
	if !slices.Contains(pools, req.Pool) {
		writeError(w, http.StatusNotFound, "pool %q is not one of %s's pools (%s)", req.Pool, rec.Name, strings.Join(pools, ", "))
		return
	}
	o := &controller.Override{Kind: controller.OverridePin, Record: rec.Name, Type: rec.Type, Pool: req.Pool, Reason: req.Reason, Author: caller(r.Context()).Name}
	note, ok := s.guardWrite(w, r, req.Guard, change{pin: o}, fmt.Sprintf("pinning %s %s to pool %s", rec.Name, rec.Type, req.Pool))
	if !ok {
		return
	}
	timed(o, d)
	s.overrideCommit(w, r, &controller.Command{Type: controller.CmdSetOverride, Override: o}, fmt.Sprintf("pinned %s %s to pool %s: %s%s", rec.Name, rec.Type, req.Pool, req.Reason, note), "")
}

func (s *Server) release(w http.ResponseWriter, r *http.Request) {
	var req PinRequest
	if !decode(w, r, &req) {
		return
	}
	rec, ok := s.checkRecord(w, req.Record, req.Type)
	if !ok {
		return
	}
	view := s.store.FSM().View()
	_, pinned := view.Pin(rec.Name, rec.Type)
	if hold := view.Held(rec.Name, rec.Type); !pinned && hold != nil {
		s.releaseFailback(w, r, rec.Name, rec.Type, hold)
		return
	}
	c := &controller.ClearOverride{Kind: controller.OverridePin, Record: rec.Name, Type: rec.Type, Author: caller(r.Context()).Name}
	s.overrideCommit(w, r, &controller.Command{Type: controller.CmdClearOverride, Clear: c}, fmt.Sprintf("released %s %s: it follows health again", rec.Name, rec.Type),
		fmt.Sprintf("%s %s is not pinned, nor held on a later pool by its failback setting (see `detour status` for the overrides in force)", rec.Name, rec.Type))
}

// overrideCommit commits an override change and replies with the
// records' answers once this node has applied it. notFound, when set, is
// the reply to a clear the cluster found nothing to clear for.
func (s *Server) overrideCommit(w http.ResponseWriter, r *http.Request, c *controller.Command, msg, notFound string) {
	res, err := s.commit(r, c)
	switch {
	case notFound != "" && errors.Is(err, controller.ErrNotFound):
		writeError(w, http.StatusNotFound, "%s", notFound)
		return
	case err != nil:
		s.writeStoreError(w, err)
		return
	}
	st := s.buildStatus()
	writeJSON(w, http.StatusOK, OverrideResult{Message: msg + behind(st.Index, res.Index), Records: st.Records,
		Override: wireOverridePtr(res.Override), Index: st.Index, WriteIndex: res.Index})
}

// releaseFailback ends a failback hold (failback_after, failback:
// manual): the record fails back to its earlier pool at once.
func (s *Server) releaseFailback(w http.ResponseWriter, r *http.Request, name, typ string, hold *controller.FailbackHold) {
	c := &controller.ClearOverride{Kind: controller.OverrideFailback, Record: name, Type: typ, Author: caller(r.Context()).Name}
	s.overrideCommit(w, r, &controller.Command{Type: controller.CmdClearOverride, Clear: c},
		fmt.Sprintf("released %s %s: failing back from pool %s to pool %s", name, typ, hold.Pool, hold.Preferred),
		fmt.Sprintf("%s %s is not pinned, nor held on a later pool by its failback setting (see `detour status` for the overrides in force)", name, typ))
}

// checkOverride validates what every override needs: a reason, and a
// duration within bounds (0: until cleared).
func (s *Server) checkOverride(w http.ResponseWriter, reason, forDur string) (time.Duration, bool) {
	if strings.TrimSpace(reason) == "" {
		writeError(w, http.StatusBadRequest, "reason is required: say why, for the audit log and whoever is paged next (--reason TEXT)")
		return 0, false
	}
	if forDur == "" {
		return 0, true
	}
	d, err := time.ParseDuration(forDur)
	if err != nil || d <= 0 || d > MaxOverride {
		writeError(w, http.StatusBadRequest, "for=%q: want a duration between 1s and %s, such as 30m or 2h", forDur, MaxOverride)
		return 0, false
	}
	return d, true
}

// timed makes o hold for d. The duration travels as such: the cluster
// sets the expiry in its own clock when it applies the override, so no
// node's wall clock decides it. Expires, from this node's clock, only
// serves replicas of an older version during a rolling upgrade; the
// others ignore it when For is set.
func timed(o *controller.Override, d time.Duration) {
	if d > 0 {
		o.For, o.Expires = d.String(), time.Now().Add(d).UTC()
	}
}

// checkTarget refuses a drain target the spec in force does not know,
// naming what it does know.
func (s *Server) checkTarget(w http.ResponseWriter, target string) bool {
	if target == "" {
		writeError(w, http.StatusBadRequest, "target is required: a datacenter, pool or pool/address")
		return false
	}
	sp, _ := s.store.FSM().Spec()
	if sp == nil {
		writeError(w, http.StatusServiceUnavailable, "the cluster has no spec yet: apply one with `detour spec apply FILE`")
		return false
	}
	_, err := sp.ResolveTarget(target)
	te, ok := errors.AsType[*spec.TargetError](err)
	switch {
	case err == nil || (ok && te.Ambiguous):
		return true // an ambiguous name is the cluster's to refuse, naming both
	case !ok:
		writeError(w, http.StatusNotFound, "%v", err)
	case te.Address != "" && !te.NoPool:
		writeError(w, http.StatusNotFound, "pool %s has no endpoint %s (endpoints: %s)", te.Pool, te.Address, strings.Join(te.Endpoints, ", "))
	default:
		writeError(w, http.StatusNotFound, "%q is not a datacenter, pool or pool/address (datacenters: %s; pools: %s)", target, strings.Join(te.Datacenters, ", "), strings.Join(te.Pools, ", "))
	}
	return false
}

// checkRecord finds a health-driven record by name, in any form, and
// type (empty: the only record of that name).
func (s *Server) checkRecord(w http.ResponseWriter, name, typ string) (*spec.Record, bool) {
	if name == "" {
		writeError(w, http.StatusBadRequest, "record is required: a health-driven record's name")
		return nil, false
	}
	sp, _ := s.store.FSM().Spec()
	if sp == nil {
		writeError(w, http.StatusServiceUnavailable, "the cluster has no spec yet: apply one with `detour spec apply FILE`")
		return nil, false
	}
	rec, err := sp.FindRecord(name, typ)
	re, ok := errors.AsType[*spec.RecordError](err)
	switch {
	case err == nil:
		return rec, true
	case !ok:
		writeError(w, http.StatusNotFound, "%v", err)
	case re.Ambiguous:
		writeError(w, http.StatusBadRequest, "%s has records of several types: name one with type (--type)", re.Name)
	default:
		writeError(w, http.StatusNotFound, "no health-driven record %s %s (records: %s)", re.Name, typ, strings.Join(re.Records, ", "))
	}
	return nil, false
}
