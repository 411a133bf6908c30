package providers

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// Retry timing: exponential backoff with jitter between these bounds.
const (
	backoffMin = 500 * time.Millisecond
	backoffMax = 30 * time.Second
)

// Status is the sync state of one provider as this node sees it.
type Status struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Zone string `json:"zone"`
	// Active is true while this node (the leader) pushes to the provider.
	Active bool `json:"active"`
	// InSync is true when the last attempt left the provider holding the
	// desired state.
	InSync      bool      `json:"in_sync"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// Pending is how many changes the last diff found not yet applied.
	Pending int `json:"pending"`
	// Requests is how many requests this node sent to the provider.
	Requests uint64 `json:"requests"`
	// Applied counts changes written; Errors counts failed attempts.
	Applied uint64 `json:"applied"`
	Errors  uint64 `json:"errors"`
}

// status is a Status shared by the reconcilers of successive terms.
type status struct {
	mu sync.Mutex
	s  Status
}

func (st *status) update(fn func(s *Status)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	fn(&st.s)
}

func (st *status) get() Status {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.s
}

// reconciler keeps one provider in line with the desired state for one
// leadership term. It starts knowing nothing, so a new leader reads the
// provider from scratch.
type reconciler struct {
	cfg    spec.Provider
	src    Source
	get    func() (Provider, error)
	st     *status
	logger *slog.Logger
	wake   chan struct{}

	cache []RRset // what the provider holds for detour, when known
	known bool
}

func newReconciler(cfg spec.Provider, src Source, get func() (Provider, error), st *status, logger *slog.Logger) *reconciler {
	return &reconciler{cfg: cfg, src: src, get: get, st: st, logger: logger, wake: make(chan struct{}, 1)}
}

// poke asks for a sync soon; it never blocks.
func (r *reconciler) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// run syncs until ctx ends: at start, on every poke, and every
// drift_interval (re-reading the provider to repair hand edits). Failures
// are retried with backoff and jitter, or after the provider's
// Retry-After when it is longer.
func (r *reconciler) run(ctx context.Context) {
	interval := r.cfg.DriftInterval.D()
	if interval <= 0 {
		interval = spec.DefaultDriftInterval
	}
	drift := time.NewTimer(interval)
	defer drift.Stop()
	failures := 0
	lastErr := ""
	for {
		err := r.sync(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			r.known = false
			wait := backoff(failures)
			var ra *RetryAfterError
			if errors.As(err, &ra) && ra.After > wait {
				wait = ra.After
			}
			if msg := err.Error(); msg != lastErr {
				r.logger.Warn("provider sync failed", "err", msg, "retry_in", wait.Round(time.Millisecond))
				lastErr = msg
			}
			r.st.update(func(s *Status) {
				s.InSync, s.LastError, s.LastErrorAt = false, err.Error(), time.Now()
				s.Errors++
			})
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		if failures > 0 {
			r.logger.Info("provider sync recovered", "after_failures", failures)
		}
		failures, lastErr = 0, ""
		r.st.update(func(s *Status) { s.InSync, s.LastSuccess, s.LastError = true, time.Now(), "" })
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-drift.C:
			r.known = false // re-read: someone may have edited by hand
			drift.Reset(interval)
		}
	}
}

// sync brings the provider to the desired state once.
func (r *reconciler) sync(ctx context.Context) error {
	p, err := r.get()
	if err != nil {
		return err
	}
	s, _ := r.src.Spec()
	want, keys := Desired(s, r.src.Decisions(), r.cfg)
	want = normalize(p, want)
	if !r.known {
		cur, err := p.Read(ctx, keys)
		if err != nil {
			return err
		}
		r.cache, r.known = cur, true
	}
	changes := Diff(want, r.cache)
	r.st.update(func(s *Status) { s.Pending = len(changes) })
	if len(changes) == 0 {
		return nil
	}
	got, err := p.Apply(ctx, changes)
	if err != nil {
		return err
	}
	r.cache = applied(r.cache, changes, got)
	r.st.update(func(s *Status) {
		s.Pending = 0
		s.Applied += uint64(len(changes))
	})
	for _, c := range changes {
		r.logger.Info("provider updated", "change", c.String())
	}
	return nil
}

// applied returns cache with the changes' results in place.
func applied(cache []RRset, changes []Change, got []*RRset) []RRset {
	byKey := make(map[Key]RRset, len(cache))
	for _, rr := range cache {
		byKey[rr.Key] = rr
	}
	for i, c := range changes {
		delete(byKey, c.Key())
		if i < len(got) && got[i] != nil {
			byKey[got[i].Key] = *got[i]
		}
	}
	out := make([]RRset, 0, len(byKey))
	for _, rr := range byKey {
		out = append(out, rr)
	}
	return out
}

func normalize(p Provider, want []RRset) []RRset {
	n, ok := p.(Normalizer)
	if !ok {
		return want
	}
	for i := range want {
		want[i] = n.Normalize(want[i])
	}
	return want
}

// backoff returns the wait before retry n (1-based): doubling from
// backoffMin up to backoffMax, with the upper half jittered so that
// retries of several providers do not fall in step.
func backoff(n int) time.Duration {
	d := backoffMin
	for i := 1; i < n && d < backoffMax; i++ {
		d *= 2
	}
	d = min(d, backoffMax)
	return d/2 + rand.N(d/2+1)
}
