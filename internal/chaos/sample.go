package chaos

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Sample is what one node said in one round of the timeline.
type Sample struct {
	Round int
	T     time.Time // when the questions were sent
	Node  int
	WWW   DNSAnswer
	App   DNSAnswer
	Ready int    // /v1/ready status, 0 when no reply
	Why   string // its reason when not ready
}

// Sampler asks every node over DNS and the API every 100 ms.
type Sampler struct {
	c      *Cluster
	dns    *dns.Client
	http   *http.Client
	mu     sync.Mutex
	all    []Sample
	cancel context.CancelFunc
	done   chan struct{}
}

// StartSampler starts sampling c's nodes.
func StartSampler(c *Cluster) *Sampler {
	ctx, cancel := context.WithCancel(context.Background())
	tr := c.client.Transport.(*http.Transport).Clone()
	s := &Sampler{c: c, dns: newDNSClient(), http: &http.Client{Timeout: 400 * time.Millisecond, Transport: tr},
		cancel: cancel, done: make(chan struct{})}
	go s.loop(ctx)
	return s
}

func (s *Sampler) loop(ctx context.Context) {
	defer close(s.done)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	busy := make([]bool, len(s.c.Nodes)) // a node still answering the last round is skipped
	for round := 0; ; round++ {
		for i, n := range s.c.Nodes {
			s.mu.Lock()
			skip := busy[i] || !n.Running()
			busy[i] = busy[i] || !skip
			s.mu.Unlock()
			if skip {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				smp := s.one(round, i, n)
				s.mu.Lock()
				s.all = append(s.all, smp)
				busy[i] = false
				s.mu.Unlock()
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (s *Sampler) one(round, i int, n *Node) Sample {
	smp := Sample{Round: round, T: time.Now(), Node: i}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); smp.WWW = QueryA(s.dns, n.DNS, "www.example.test") }()
	go func() { defer wg.Done(); smp.App = QueryA(s.dns, n.DNS, "app.example.test") }()
	req, _ := http.NewRequest(http.MethodGet, "https://"+n.API+"/v1/ready", nil)
	if resp, err := s.http.Do(req); err == nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		smp.Ready = resp.StatusCode
		var r struct {
			Why string `json:"why"`
		}
		_ = json.Unmarshal(b, &r)
		smp.Why = r.Why
	}
	wg.Wait()
	return smp
}

// Stop ends sampling and returns the timeline.
func (s *Sampler) Stop() []Sample {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.all
}
