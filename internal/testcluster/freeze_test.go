package testcluster

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// sampler asks every node for www.example.test every 50 ms and keeps
// each answer that names a dead address.
type sampler struct {
	c    *Cluster
	dead string
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	samples int
	wrong   []string
}

func startSampler(c *Cluster, dead string) *sampler {
	s := &sampler{c: c, dead: dead, stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *sampler) run() {
	defer close(s.done)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	start := time.Now()
	for {
		for _, m := range s.c.Members {
			got := s.c.Answer(m)
			s.mu.Lock()
			s.samples++
			if got == s.dead {
				s.wrong = append(s.wrong, fmt.Sprintf("%s answered %s at +%s", m.ID, got, time.Since(start).Round(time.Millisecond)))
			}
			s.mu.Unlock()
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// finish stops sampling and returns the count and the wrong answers.
func (s *sampler) finish() (int, []string) {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples, s.wrong
}

// The chaos run of issue 13: a site dies and answers move; then the
// leader is frozen for 6 s, long enough for the others to elect a new
// leader and for every observer to look silent in its stale view, and
// resumes. No node may ever answer the dead site's address: a resumed
// leader must not mark observers stale from its old view, and an
// endpoint without fresh observers keeps its last verdict.
func TestResumedLeaderNeverAnswersTheDeadSite(t *testing.T) {
	if testing.Short() {
		t.Skip("freezes a node for 6s")
	}
	c := New(t, Options{})
	c.Member("us-east").Site.Kill()
	for _, m := range c.Members {
		c.WaitAnswer(m, Answers["us-west"], 15*time.Second)
	}
	s := startSampler(c, Answers["us-east"])
	old := c.Leader()
	if old == nil {
		s.finish()
		t.Fatal("no leader")
	}
	// Halfway through the freeze: the frozen node still leads in its
	// own eyes, and the others have elected one of them.
	var during string
	mid := time.AfterFunc(3*time.Second, func() {
		others := 0
		for _, m := range c.Members {
			if m != old && m.Node.Store().IsLeader() {
				others++
			}
		}
		during = fmt.Sprintf("frozen node leads: %v; other leaders: %d", old.Node.Store().IsLeader(), others)
	})
	defer mid.Stop()
	c.Freeze(old, 6*time.Second)
	if during != "frozen node leads: true; other leaders: 1" {
		t.Errorf("during the freeze: %s; want the frozen leader unaware and another elected", during)
	}
	// Past the resume by more than StaleAfter: any stale judgement the
	// resumed node made would have landed by now.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if l := c.Leader(); l != nil && l != old {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * Timing.StaleAfter)
	n, wrong := s.finish()
	t.Logf("%d answers sampled; leader %s frozen 6s, leader now %v", n, old.ID, leaderID(c))
	for _, w := range wrong {
		t.Error(w)
	}
	if len(wrong) > 0 {
		for _, e := range c.Events(c.Leader()) {
			t.Logf("event %d %s %s", e.Seq, e.Time.Format("15:04:05.000"), e.Message)
		}
	}
	if l := c.Leader(); l == nil {
		t.Error("no leader after the resume")
	}
	for _, m := range c.Members {
		c.WaitAnswer(m, Answers["us-west"], 10*time.Second)
	}
	c.CheckInvariants()
}

func leaderID(c *Cluster) string {
	if l := c.Leader(); l != nil {
		return l.ID
	}
	return "none"
}
