package logging

import (
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Quiet demotes messages a library repeats as a matter of course: each
// distinct message starting with one of Prefixes is logged at Level (at
// most) once per Every, with the count of those held back since; the
// others in between go out at Debug, so --log-level debug still shows
// every one.
type Quiet struct {
	Prefixes []string
	Level    hclog.Level
	Every    time.Duration
	// Now is the clock, nil meaning time.Now (tests).
	Now func() time.Time
}

// RaftQuiet is what hashicorp/raft repeats while a cut-off or restarted
// voter keeps asking for votes the others must refuse: a WARN per
// request, every election timeout, on every node, until it rejoins.
// Refusing is Raft working; one line a minute says it is still going on.
func RaftQuiet() *Quiet {
	return &Quiet{
		Prefixes: []string{"rejecting pre-vote request", "rejecting vote request since we have a leader"},
		Level:    hclog.Info,
		Every:    time.Minute,
	}
}

// quieter keeps Quiet's state: when each message last went out and how
// many were held back since.
type quieter struct {
	q    Quiet
	mu   sync.Mutex
	last map[string]time.Time
	held map[string]int
}

func newQuieter(q Quiet) *quieter {
	if q.Now == nil {
		q.Now = time.Now
	}
	return &quieter{q: q, last: map[string]time.Time{}, held: map[string]int{}}
}

// pass returns the level a message goes out at, and attributes to add.
func (q *quieter) pass(level hclog.Level, msg string) (hclog.Level, []any) {
	if !q.matches(msg) {
		return level, nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.q.Now()
	if last, ok := q.last[msg]; ok && now.Sub(last) < q.q.Every {
		q.held[msg]++
		return min(level, hclog.Debug), nil
	}
	q.last[msg] = now
	held := q.held[msg]
	delete(q.held, msg)
	return min(level, q.q.Level), []any{"repeats_logged_at_debug", held}
}

func (q *quieter) matches(msg string) bool {
	for _, p := range q.q.Prefixes {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
