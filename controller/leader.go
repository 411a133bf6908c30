package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// dutyTick is how often a node checks its duties, and the leader its
// observers and overrides.
const dutyTick = 200 * time.Millisecond

// handOverEvery spaces the attempts of a halted leader to hand over.
const handOverEvery = 5 * time.Second

// registerLeaderDuties declares the leader's own tasks: seed the spec,
// mark silent observers stale, expire overrides, and hand leadership
// over when this replica halted.
func (s *Store) registerLeaderDuties() {
	s.OnLeader("seed-spec", s.seedSpec)
	s.OnLeader("observer-liveness", s.watchObservers)
	s.OnLeader("override-expiry", s.expireOverrides)
	s.OnLeader("halt-handover", s.handOverWhenHalted)
	s.OnLeader("spec-activation", func(ctx context.Context) error {
		s.activateStaged(ctx) // stage.go
		return nil
	})
	s.OnLeader("membership", func(ctx context.Context) error {
		defer s.health.reset()
		s.promoteLoop(ctx) // membership.go
		return nil
	})
}

// duties runs for the store's life on every node: it registers the
// node as a member and drops the seed once the cluster holds a spec.
func (s *Store) duties(ctx context.Context) {
	every(ctx, dutyTick, func() bool {
		if s.fsm.Halted() == nil {
			s.dropSeed()
			s.register(ctx)
		}
		return true
	})
}

// dropSeed forgets the seed spec once the cluster holds one: the
// replicated spec wins from then on, and for a big zone the seed is a
// second compiled copy of it.
func (s *Store) dropSeed() {
	if seed := s.seed.Load(); seed != nil && s.fsm.View().Spec() != nil {
		s.seed.Store(nil)
		s.fsm.withdraw(s.seedOffer.Swap(nil))
		freeBigSeed(seed)
	}
}

// register proposes this node's member record when the FSM lacks it or has
// it wrong.
func (s *Store) register(ctx context.Context) {
	me := Member{ID: s.cfg.NodeID, Datacenter: s.cfg.Datacenter, RaftAddr: s.cfg.RaftAddr, APIAddr: s.cfg.APIAddr, DNSAddr: s.cfg.DNSAddr}
	if s.cfg.GeoIP != nil {
		me.GeoIP = s.cfg.GeoIP()
	}
	if m, ok := s.fsm.View().Member(me.ID); ok && m == me {
		return
	}
	if _, addr := s.Leader(); addr == "" {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := s.Propose(cctx, &Command{Type: CmdRegisterMember, Member: &me}); err != nil {
		s.logger.Debug("register member", "err", err)
	}
}

// handOverWhenHalted asks another voter to lead while this replica's
// state machine is halted: its state stands still, and duties judged on
// it (staleness, expiry) would be wrong.
func (s *Store) handOverWhenHalted(ctx context.Context) error {
	var handed time.Time
	every(ctx, dutyTick, func() bool {
		h := s.fsm.Halted()
		if h == nil || time.Since(handed) < handOverEvery {
			return true
		}
		handed = time.Now()
		s.logger.Error("this node's state machine is halted: handing leadership over", "halt", h.Reason)
		if err := s.raft.LeadershipTransfer().Error(); err != nil {
			s.logger.Warn("handing leadership over", "err", err)
		}
		return true
	})
	return nil
}

// seedSpec proposes the seed spec when the cluster has none. An error
// makes the term retry it.
func (s *Store) seedSpec(ctx context.Context) error {
	seed := s.seed.Load()
	if seed == nil || s.fsm.Halted() != nil {
		return nil
	}
	// The leader registers first, as every node does: a new cluster's
	// log then starts with its members, before any spec or event.
	s.register(ctx)
	if s.fsm.View().Spec() != nil {
		return nil
	}
	sc, err := s.seedCommand(seed)
	if err != nil {
		s.logger.Error("seeding the spec", "err", err)
		return nil // the same spec will not marshal next time either
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// Only over no spec at all: an operator's spec applied since this
	// leader looked must not be overwritten by the seed.
	var none uint64
	sc.IfVersion = &none
	_, err = s.Propose(cctx, &Command{Type: CmdSetSpec, Spec: sc})
	switch {
	case errors.Is(err, ErrSpecChanged):
		s.logger.Info("not seeding: the cluster got a spec meanwhile")
	case err != nil:
		return fmt.Errorf("seeding the spec: %w", err)
	default:
		s.logger.Info("seeded the cluster with this node's spec")
	}
	return nil
}

// expireOverrides ends overrides whose time is up in the leader's clock.
func (s *Store) expireOverrides(ctx context.Context) error {
	every(ctx, dutyTick, func() bool {
		now, err := s.leaderTime()
		if err != nil || s.fsm.Halted() != nil || !s.fsm.View().ExpiryDue(now) {
			return true
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, err := s.Propose(cctx, &Command{Type: CmdExpireOverrides}); err != nil {
			s.logger.Warn("expiring overrides", "err", err)
		}
		return true
	})
	return nil
}

// silence is one observer the leader found silent too long.
type silence struct {
	id         string
	lastReport time.Time
	age        time.Duration
}

// watchObservers marks observers stale when the leader's committed record
// of their last report is StaleAfter behind the leader's time. Both are
// the leader's clock: no node's wall clock and no local receive time
// enters. An observer gets a full StaleAfter under this term first (the
// term opened with a Barrier, so the record is the committed one), and
// again after this node did not run for a while (a paused VM, a stopped
// process): reports could not reach it meanwhile.
func (s *Store) watchObservers(ctx context.Context) error {
	since, err := s.leaderTime()
	if err != nil {
		return err
	}
	t := time.NewTicker(dutyTick)
	defer t.Stop()
	idle := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if gap := time.Since(idle); gap > s.pauseGap() {
			if since, err = s.leaderTime(); err != nil {
				return err
			}
			s.logger.Warn("this leader did not run for a while: observers get a full stale_after again", "paused", gap.Round(time.Millisecond))
		}
		if s.fsm.Halted() == nil {
			s.markStale(ctx, since)
		}
		idle = time.Now()
	}
}

// pauseGap is how long the staleness check may go without running before
// the leader assumes it was paused: longer than a report interval, so a
// report may have been missed.
func (s *Store) pauseGap() time.Duration {
	return max(s.cfg.Timing.ReportInterval, 4*dutyTick)
}

// markStale proposes the observers silent since before since and for
// StaleAfter as stale.
func (s *Store) markStale(ctx context.Context, since time.Time) {
	now, err := s.leaderTime()
	if err != nil {
		return
	}
	silent := s.silentObservers(now, since)
	if len(silent) == 0 {
		return
	}
	// A leader deposed without knowing it yet (it was paused while
	// another was elected) would judge from an old view: confirm with a
	// quorum that this node still leads before judging anyone.
	if err := s.raft.VerifyLeader().Error(); err != nil {
		s.logger.Info("not marking observers stale: leadership not confirmed", "err", err)
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, o := range silent {
		reason := fmt.Sprintf("no report for %s", o.age.Round(100*time.Millisecond))
		l := &ObserverLiveness{Observer: o.id, Fresh: false, Reason: reason, LastReport: o.lastReport}
		if _, err := s.Propose(cctx, &Command{Type: CmdObserverLiveness, Liveness: l}); err != nil {
			s.logger.Warn("marking observer stale", "observer", o.id, "err", err)
		}
	}
}

// silentObservers lists the fresh observers whose last committed report
// is StaleAfter behind now, counting from since at the earliest, the
// longest silent first: each mark commits on its own, and in between the
// observers heard from most recently should be the ones still counted.
func (s *Store) silentObservers(now, since time.Time) []silence {
	var out []silence
	for _, o := range s.fsm.View().Observers() {
		heard := o.LastReport
		if heard.Before(since) {
			heard = since
		}
		if o.Fresh && now.Sub(heard) > s.cfg.Timing.StaleAfter {
			out = append(out, silence{id: o.ID, lastReport: o.LastReport, age: now.Sub(o.LastReport)})
		}
	}
	slices.SortStableFunc(out, func(a, b silence) int { return a.lastReport.Compare(b.lastReport) })
	return out
}
