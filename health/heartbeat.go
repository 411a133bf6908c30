package health

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// beatBook holds the last beat per (check, endpoint address). It lives as
// long as the engine, so a spec update does not forget beats.
type beatBook struct {
	mu    sync.Mutex
	beats map[beatKey]time.Time
}

type beatKey struct{ check, address string }

func newBeatBook() *beatBook { return &beatBook{beats: map[beatKey]time.Time{}} }

func (b *beatBook) record(check, address string, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := beatKey{check, address}
	if at.After(b.beats[k]) {
		b.beats[k] = at
	}
}

func (b *beatBook) last(check, address string) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.beats[beatKey{check, address}]
	return t, ok
}

// heartbeatCheck is a dead man's switch: up while the last beat is younger
// than max_age.
//
// Before the first beat, the target gets max_age of grace from the moment
// it was created: a node that restarts (or a whole cluster) must not fail
// over every heartbeat target just because it has not heard from the jobs
// yet. A job that never beats is down max_age after start.
type heartbeatCheck struct {
	check  string
	addr   string
	maxAge time.Duration
	since  time.Time
	beats  *beatBook
	now    func() time.Time
}

func heartbeatKind(c *spec.Check, env *env) (func(Target) Checker, error) {
	if c.MaxAge <= 0 {
		return nil, fmt.Errorf("%w: max_age is required for a heartbeat check", ErrCheckConfig)
	}
	return func(t Target) Checker {
		return &heartbeatCheck{check: c.Name, addr: t.Probe, maxAge: c.MaxAge.D(), since: env.now(), beats: env.beats, now: env.now}
	}, nil
}

// Check compares the last beat with max_age.
func (h *heartbeatCheck) Check(context.Context) Result {
	now := h.now()
	last, beaten := h.beats.last(h.check, h.addr)
	if !beaten {
		if waited := now.Sub(h.since); waited >= h.maxAge {
			return fail(ClassHeartbeat, fmt.Sprintf("no heartbeat since start %s ago (max_age %s)", round(waited), h.maxAge))
		}
		return ok(fmt.Sprintf("no heartbeat yet; down if none by %s after start (max_age)", h.maxAge))
	}
	age := now.Sub(last)
	if age > h.maxAge {
		return fail(ClassHeartbeat, fmt.Sprintf("last heartbeat %s ago (max_age %s)", round(age), h.maxAge))
	}
	return ok(fmt.Sprintf("last heartbeat %s ago", round(max(age, 0))))
}

// round keeps durations in reasons readable.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}

// Heartbeat records a beat for the endpoint address of a heartbeat check
// at the given time, and re-evaluates its targets at once. The address is
// matched as the spec normalises it (IP addresses in canonical form, host
// names with or without the final dot, any case). It fails with
// ErrUnknownCheck, ErrNotHeartbeat or ErrUnknownEndpoint.
//
// A beat reaches only the node that received it: the controller is
// expected to share beats between nodes (for example through Raft) and
// call Heartbeat on each, so that every observer sees the job alive.
func (e *Engine) Heartbeat(check, endpoint string, at time.Time) error {
	e.mu.Lock()
	_, addr, err := e.spec.HeartbeatTarget(check, endpoint)
	targets := e.beatRoutes[beatKey{check, addr}]
	e.mu.Unlock()
	if err != nil {
		return err
	}
	e.env.beats.record(check, addr, at)
	for _, t := range targets {
		e.sched.poke(t)
	}
	return nil
}

// CanonicalEndpoint writes an endpoint address as spec.Validate does: IP
// addresses in canonical form, host names fully qualified in lower case.
func CanonicalEndpoint(s string) string { return spec.CanonicalEndpoint(s) }

// HeartbeatPattern is the API's route for heartbeats, in
// net/http.ServeMux syntax; {endpoint} is the endpoint address,
// URL-escaped.
const HeartbeatPattern = "POST /v1/heartbeat/{check}/{endpoint}"

// Beater records heartbeats. *Engine is one, for this node alone; the
// controller's is another, which commits each beat through the cluster so
// that every node's engine hears it, and is what the API serves
// HeartbeatPattern with.
type Beater interface {
	Heartbeat(check, endpoint string, at time.Time) error
}
