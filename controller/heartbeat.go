package controller

import (
	"context"
	"sync"
	"time"
)

// Heartbeat commits a job's ping through the cluster: the job may call any
// node, and every node's health engine hears of it. at is ignored in
// favour of the time stamped into the entry. Every call is a Raft commit:
// the API goes through Beats, which coalesces them.
func (s *Store) Heartbeat(check, endpoint string, _ time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.Propose(ctx, &Command{Type: CmdHeartbeat, Beat: &Heartbeat{Check: check, Endpoint: endpoint}})
	return err
}

// MaxBeatWindow is the longest a beat is coalesced with the one committed
// before it.
const MaxBeatWindow = time.Second

// beatWindowShare is the share of a check's max_age within which beats are
// coalesced (when under MaxBeatWindow): a target's last beat is then at
// most a tenth of max_age older than the job's last call.
const beatWindowShare = 10

// Beats coalesces job heartbeats before they reach the log. A beat for a
// check and endpoint that this node committed less than a window ago is
// answered at once without a new entry: every engine already knows the
// job is alive, and a job (or a stolen token) beating in a loop must not
// cost a Raft commit per request (the audit saw 800 a second from one
// token). Beats for the same target that arrive while one is being
// committed wait for it and share its outcome. Coalescing is per node:
// across the cluster a target costs at most one commit per window per
// node that receives its beats.
//
// Beats also refuses what the spec does not define before anything is
// proposed, so a beat's key is always a target of the spec.
type Beats struct {
	store *Store
	now   func() time.Time

	mu     sync.Mutex
	last   map[beatKey]time.Time // when this node last proposed a beat that then committed
	flight map[beatKey]*beatCall
}

type beatKey struct{ check, endpoint string }

// beatCall is a beat being committed.
type beatCall struct {
	done chan struct{}
	err  error
}

// NewBeats returns the coalescing heartbeat path of store.
func NewBeats(store *Store) *Beats {
	return &Beats{store: store, now: time.Now, last: map[beatKey]time.Time{}, flight: map[beatKey]*beatCall{}}
}

// Heartbeat records a beat through the cluster unless one for the same
// target committed within the window. It implements health.Beater; at is
// ignored. It fails with health.ErrUnknownCheck, health.ErrNotHeartbeat or
// health.ErrUnknownEndpoint for what the spec does not define.
func (b *Beats) Heartbeat(check, endpoint string, _ time.Time) error {
	addr, window, err := b.resolve(check, endpoint)
	if err != nil {
		return err
	}
	k := beatKey{check, addr}
	start := b.now()
	b.mu.Lock()
	if at, ok := b.last[k]; ok && start.Sub(at) < window {
		b.mu.Unlock()
		return nil
	}
	if c := b.flight[k]; c != nil {
		b.mu.Unlock()
		<-c.done
		return c.err
	}
	c := &beatCall{done: make(chan struct{})}
	b.flight[k] = c
	b.mu.Unlock()

	c.err = b.store.Heartbeat(check, addr, start)
	b.mu.Lock()
	delete(b.flight, k)
	if c.err == nil {
		b.forget(start)
		b.last[k] = start
	}
	b.mu.Unlock()
	close(c.done)
	return c.err
}

// forget drops beats older than any window, so that targets that left
// the spec do not stay. b.mu is held.
func (b *Beats) forget(now time.Time) {
	if len(b.last) < 64 {
		return
	}
	for k, at := range b.last {
		if now.Sub(at) >= MaxBeatWindow {
			delete(b.last, k)
		}
	}
}

// resolve finds the endpoint of check in the spec in force: its address
// as the spec writes it and the check's coalescing window.
func (b *Beats) resolve(check, endpoint string) (string, time.Duration, error) {
	s, _ := b.store.FSM().Spec()
	c, addr, err := s.HeartbeatTarget(check, endpoint)
	if err != nil {
		return "", 0, err
	}
	return addr, min(MaxBeatWindow, c.MaxAge.D()/beatWindowShare), nil
}
