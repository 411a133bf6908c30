package health

import (
	"math/rand/v2"
	"testing"
	"time"
)

func schedTarget(interval time.Duration) *target {
	return &target{interval: interval}
}

// The queue hands targets out in due order, each once, and skips the
// retired and the superseded entries of poked ones.
func TestScheduleOrder(t *testing.T) {
	s := newSchedule()
	base := s.epoch
	var ts []*target
	for range 2000 {
		tg := schedTarget(time.Second)
		ts = append(ts, tg)
		s.mu.Lock()
		s.push(tg, base.Add(time.Minute+rand.N(time.Hour)))
		s.mu.Unlock()
	}
	retired := map[*target]bool{}
	for _, tg := range ts[:100] {
		s.retire(tg)
		retired[tg] = true
	}
	poked := ts[100:110]
	for _, tg := range poked {
		s.poke(tg)
	}
	got, next := s.due(base.Add(2*time.Hour), nil)
	if !next.IsZero() {
		t.Errorf("queue not empty after everything was due: next %v", next)
	}
	if len(got) != len(ts)-len(retired) {
		t.Fatalf("%d targets due, want %d", len(got), len(ts)-len(retired))
	}
	seen := map[*target]bool{}
	for i, tg := range got {
		if retired[tg] || seen[tg] || !tg.busy {
			t.Fatalf("target %d: retired %v, seen before %v, busy %v", i, retired[tg], seen[tg], tg.busy)
		}
		seen[tg] = true
		if i > 0 && tg.due.Before(got[i-1].due) {
			t.Fatalf("target %d due %v before the previous one's %v", i, tg.due, got[i-1].due)
		}
	}
	first := map[*target]bool{} // poked now: before everything due in a minute or more
	for _, tg := range got[:len(poked)] {
		first[tg] = true
	}
	for _, tg := range poked {
		if !first[tg] {
			t.Errorf("a poked target was not handed out first")
		}
	}
}

// done queues a target one interval after it was due, at once when it was
// poked in flight or the schedule fell behind, and never when retired.
func TestScheduleDone(t *testing.T) {
	s := newSchedule()
	now := s.epoch.Add(time.Minute)
	tg := schedTarget(time.Second)
	s.mu.Lock()
	s.push(tg, now)
	s.mu.Unlock()
	if got, _ := s.due(now, nil); len(got) != 1 {
		t.Fatalf("due: %d targets, want 1", len(got))
	}
	s.add(tg, now) // in flight: must not queue it a second time
	if got, _ := s.due(now.Add(time.Hour), nil); len(got) != 0 {
		t.Fatalf("a target in flight was queued again by add")
	}
	s.done(tg, now.Add(100*time.Millisecond))
	if _, next := s.due(now, nil); !next.Equal(now.Add(time.Second)) {
		t.Errorf("next probe at %v, want one interval after the last was due (%v)", next, now.Add(time.Second))
	}

	got, _ := s.due(now.Add(time.Second), nil)
	if len(got) != 1 {
		t.Fatalf("due after an interval: %d targets", len(got))
	}
	s.poke(tg) // a heartbeat arrives while the probe is in flight
	end := now.Add(1100 * time.Millisecond)
	s.done(tg, end)
	if _, next := s.due(now, nil); !next.Equal(end) {
		t.Errorf("poked in flight: next probe at %v, want at once (%v)", next, end)
	}

	s.due(end, nil)
	late := end.Add(5 * time.Second) // the probe waited for a worker for seconds
	s.done(tg, late)
	if _, next := s.due(now, nil); !next.Equal(late) {
		t.Errorf("behind schedule: next probe at %v, want at once (%v)", next, late)
	}

	s.due(late, nil)
	s.retire(tg)
	s.done(tg, late)
	if got, next := s.due(late.Add(time.Hour), nil); len(got) != 0 || !next.IsZero() {
		t.Errorf("retired target queued again: %d due, next %v", len(got), next)
	}
}
