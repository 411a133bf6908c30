package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// dutyTick is how often a node checks its duties.
const dutyTick = 200 * time.Millisecond

// duties runs for the store's life: every node registers itself; the
// leader seeds the spec, marks silent observers stale and expires
// overrides on time.
func (s *Store) duties(ctx context.Context) {
	t := time.NewTicker(dutyTick)
	defer t.Stop()
	var leaderSince, handed time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !s.IsLeader() {
			leaderSince = time.Time{}
		} else if s.fsm.Halted() != nil {
			if time.Since(handed) > 5*time.Second {
				handed = time.Now()
				s.handOver()
			}
			continue
		} else if leaderSince.IsZero() {
			leaderSince, _ = s.leaderTime() // zero until the term's clock starts
		}
		s.dropSeed()
		s.register(ctx)
		if !leaderSince.IsZero() {
			s.leaderDuties(ctx, leaderSince)
		}
	}
}

// dropSeed forgets the seed spec once the cluster holds one: the
// replicated spec wins from then on, and for a big zone the seed is a
// second compiled copy of it. Only this goroutine reads cfg.Seed.
func (s *Store) dropSeed() {
	if s.cfg.Seed == nil {
		return
	}
	s.fsm.read(func(st *State) {
		if st.spec != nil {
			s.cfg.Seed = nil
		}
	})
}

// register proposes this node's member record when the FSM lacks it or has
// it wrong.
func (s *Store) register(ctx context.Context) {
	me := Member{ID: s.cfg.NodeID, Datacenter: s.cfg.Datacenter, RaftAddr: s.cfg.RaftAddr, APIAddr: s.cfg.APIAddr, DNSAddr: s.cfg.DNSAddr}
	same := false
	s.fsm.read(func(st *State) {
		if m := st.Members[me.ID]; m != nil && *m == me {
			same = true
		}
	})
	if same {
		return
	}
	if _, addr := s.Leader(); addr == "" {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.Propose(cctx, &Command{Type: CmdRegisterMember, Member: &me}); err != nil {
		s.logger.Debug("register member", "err", err)
	}
}

// handOver asks another voter to lead: a halted replica's state stands
// still, and duties judged on it (staleness, expiry) would be wrong.
func (s *Store) handOver() {
	s.logger.Error("this node's state machine is halted: handing leadership over", "halt", s.fsm.Halted().Reason)
	if err := s.raft.LeadershipTransfer().Error(); err != nil {
		s.logger.Warn("handing leadership over", "err", err)
	}
}

// leaderDuties are judged in the leader's clock: an observer is stale
// when the cluster time of its last committed report is StaleAfter
// behind the leader's time, and an override expires when the leader's
// time passes its Expires. No node's wall clock is read.
func (s *Store) leaderDuties(ctx context.Context, since time.Time) {
	now, err := s.leaderTime()
	if err != nil {
		return
	}
	var (
		needSpec bool
		stale    []string
		ages     []time.Duration
		expire   bool
	)
	s.fsm.read(func(st *State) {
		needSpec = st.spec == nil && st.Staged == nil && s.cfg.Seed != nil
		// A new leader's picture of recent reports may lag; give every
		// observer a full StaleAfter under this leader first.
		if now.Sub(since) > s.cfg.Timing.StaleAfter {
			for _, id := range slices.Sorted(maps.Keys(st.Observers)) {
				o := st.Observers[id]
				if age := now.Sub(o.LastReport); o.Fresh && age > s.cfg.Timing.StaleAfter {
					stale = append(stale, id)
					ages = append(ages, age)
				}
			}
		}
		for _, o := range st.Overrides {
			if !o.Expires.IsZero() && !o.Expires.After(now) {
				expire = true
			}
		}
	})
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if needSpec {
		yaml, err := s.cfg.Seed.Marshal()
		if err == nil {
			// Only over no spec at all: an operator's spec applied since
			// this leader looked must not be overwritten by the seed.
			var none uint64
			err = s.Propose(cctx, &Command{Type: CmdSetSpec, Spec: &SetSpec{YAML: yaml, Author: "seed from " + s.cfg.NodeID, IfVersion: &none}})
		}
		switch {
		case errors.Is(err, ErrSpecChanged):
			s.logger.Info("not seeding: the cluster got a spec meanwhile")
		case errors.Is(err, ErrSpecCompiling):
			s.logger.Info("seeded the cluster with this node's spec; it goes in force once compiled")
		case err != nil:
			s.logger.Error("seeding the spec", "err", err)
		default:
			s.logger.Info("seeded the cluster with this node's spec")
		}
	}
	for i, id := range stale {
		reason := fmt.Sprintf("no report for %s", ages[i].Round(100*time.Millisecond))
		if err := s.Propose(cctx, &Command{Type: CmdObserverLiveness, Liveness: &ObserverLiveness{Observer: id, Fresh: false, Reason: reason}}); err != nil {
			s.logger.Warn("marking observer stale", "observer", id, "err", err)
		}
	}
	if expire {
		if err := s.Propose(cctx, &Command{Type: CmdExpireOverrides}); err != nil {
			s.logger.Warn("expiring overrides", "err", err)
		}
	}
}
