package controller

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// logStore wraps the Raft log store and remembers its write errors, so
// that a node whose disk is full says so (not ready, in /metrics, a
// retryable error to writers) instead of answering from a log that
// stopped growing. Raft itself only logs them and retries.
type logStore struct {
	raft.LogStore
	failures atomic.Uint64
	// stallNoted is whether the minority watcher logged the stall
	// (storage_stall.go).
	stallNoted atomic.Bool

	mu      sync.Mutex
	lastErr error     // the latest write's error; nil once one succeeds
	since   time.Time // when writes began to fail
	onStall func(failing bool)
	aside   bool // onStall was told an append fails, and no write succeeded since

	cut pendingCut // a suffix deletion put off (logstore_cut.go)
	big bigEntry   // the latest big entry (bigload_logcache.go)
}

// StoreLog implements raft.LogStore.
func (l *logStore) StoreLog(log *raft.Log) error { return l.StoreLogs([]*raft.Log{log}) }

// StoreLogs implements raft.LogStore.
func (l *logStore) StoreLogs(logs []*raft.Log) error {
	l.big.storing(logs)
	err := l.cut.store(l.LogStore, logs)
	if err == nil {
		l.big.stored(logs)
	}
	return l.note(err, true)
}

// DeleteRange implements raft.LogStore.
func (l *logStore) DeleteRange(lo, hi uint64) error {
	l.big.forget()
	if l.cut.put(l.LogStore, lo, hi) {
		return nil
	}
	return l.note(l.LogStore.DeleteRange(lo, hi), false)
}

// note records a write's outcome and marks a failure as ErrStorage. It
// tells onStall (storage_stall.go) when an append fails, and then when a
// write succeeds again: only appends, as a leader whose append fails
// steps down, while one whose compaction fails goes on leading.
func (l *logStore) note(err error, appended bool) error {
	l.mu.Lock()
	if err == nil {
		l.lastErr, l.since = nil, time.Time{}
	} else {
		l.failures.Add(1)
		if l.lastErr == nil {
			l.since = time.Now()
		}
		l.lastErr = err
	}
	var tell func(bool)
	if l.onStall != nil && l.aside == (err == nil) && (appended || err == nil) {
		tell, l.aside = l.onStall, err != nil
	}
	l.mu.Unlock()
	if tell != nil {
		tell(err != nil)
	}
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: writing the Raft log: %w", ErrStorage, err)
}

// failing returns why the log cannot be written, or nil while its
// latest write succeeded.
func (l *logStore) failing() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lastErr == nil {
		return nil
	}
	return fmt.Errorf("%w: this node cannot write its Raft log (failing for %s, %d failed writes): %v",
		ErrStorage, time.Since(l.since).Round(time.Second), l.failures.Load(), l.lastErr)
}
