package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// A spec sent to the API is parsed and compiled in full: 16 $GENERATE
// lines in under a kilobyte expand to a million records, 10 s of CPU and
// ~370 MB. The node parses one such spec at a time for the whole API
// (diff, drill, apply), so a flood of them costs one parse, not one per
// request.

// DefaultSpecWait is how long a request that sends a spec waits for the
// parse in progress before it is answered 429.
const DefaultSpecWait = 2 * time.Second

// MaxProblems bounds the problems listed in the reply to an invalid
// spec; the rest are counted (each message is already bounded by the
// spec package).
const MaxProblems = 100

// specSlot lets one spec parse run at a time.
type specSlot struct {
	slot chan struct{}
	wait time.Duration
	busy prometheus.Counter
}

func newSpecSlot(wait time.Duration, reg *prometheus.Registry) (*specSlot, error) {
	if wait <= 0 {
		wait = DefaultSpecWait
	}
	busy := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "detour", Name: "api_spec_busy_total",
		Help: "Requests sending a spec (diff, drill, apply) answered 429 because another spec was being parsed."})
	if err := reg.Register(busy); err != nil {
		return nil, err
	}
	return &specSlot{slot: make(chan struct{}, 1), wait: wait, busy: busy}, nil
}

// acquire takes the slot, waiting up to the slot's wait and no longer
// than the request lives. When the slot stays taken it answers 429 with
// Retry-After and returns false; otherwise the caller must call release.
func (p *specSlot) acquire(w http.ResponseWriter, r *http.Request) bool {
	select {
	case p.slot <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(p.wait)
	defer t.Stop()
	select {
	case p.slot <- struct{}{}:
		return true
	case <-t.C:
	case <-r.Context().Done():
	}
	p.busy.Inc()
	secs := max(1, int(p.wait.Round(time.Second)/time.Second))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, "this node is parsing another spec (one at a time); retry in %ds", secs)
	return false
}

func (p *specSlot) release() { <-p.slot }
