package chaos

import (
	"math/rand/v2"
	"os"
	"sync"
	"time"
)

// Link is what the switch does to frames from one port to another.
type Link struct {
	Blocked bool          // drop everything
	Delay   time.Duration // one way
	Jitter  time.Duration // delay varies by up to ± this (order kept)
	Loss    float64       // fraction of frames dropped
}

// Switch is an Ethernet switch in the test process between the TAP
// devices of the node network, with a rule per direction.
type Switch struct {
	mu     sync.Mutex
	ports  []*port
	macs   map[[6]byte]int
	links  map[[2]int]Link
	lanes  map[[2]int]*lane
	rng    *rand.Rand
	closed bool
	wg     sync.WaitGroup
}

type frame struct {
	at   time.Time
	data []byte
}

type port struct {
	f *os.File
}

// lane is one direction between two ports: its frames in delivery order.
type lane struct {
	queue chan frame
	last  time.Time
}

func newSwitch() *Switch {
	return &Switch{
		macs:  map[[6]byte]int{},
		links: map[[2]int]Link{},
		lanes: map[[2]int]*lane{},
		rng:   rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7)),
	}
}

func (s *Switch) addPort(f *os.File) {
	p := &port{f: f}
	s.mu.Lock()
	s.ports = append(s.ports, p)
	idx := len(s.ports) - 1
	for j, q := range s.ports {
		if j == idx {
			continue
		}
		for _, k := range [][2]int{{idx, j}, {j, idx}} {
			ln := &lane{queue: make(chan frame, 4096)}
			s.lanes[k] = ln
			s.wg.Add(1)
			go s.write(ln, map[bool]*port{true: p, false: q}[k[1] == idx])
		}
	}
	s.mu.Unlock()
	s.wg.Add(1)
	go s.read(idx, p)
}

// Set sets the rule for frames from port from to port to.
func (s *Switch) Set(from, to int, l Link) {
	s.mu.Lock()
	s.links[[2]int{from, to}] = l
	s.mu.Unlock()
}

// Get is the rule for frames from port from to port to.
func (s *Switch) Get(from, to int) Link {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.links[[2]int{from, to}]
}

func (s *Switch) read(idx int, p *port) {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, err := p.f.Read(buf)
		if err != nil {
			return
		}
		if n < 14 {
			continue
		}
		data := append([]byte(nil), buf[:n]...)
		var dst, src [6]byte
		copy(dst[:], data[0:6])
		copy(src[:], data[6:12])
		s.mu.Lock()
		s.macs[src] = idx
		out, known := s.macs[dst]
		var targets []int
		if known && dst[0]&1 == 0 {
			targets = []int{out}
		} else {
			for j := range s.ports {
				if j != idx {
					targets = append(targets, j)
				}
			}
		}
		for _, j := range targets {
			s.forward(idx, j, data)
		}
		s.mu.Unlock()
	}
}

// forward queues data for port to under the rule from→to. s.mu is held.
func (s *Switch) forward(from, to int, data []byte) {
	l := s.links[[2]int{from, to}]
	if s.closed || l.Blocked || (l.Loss > 0 && s.rng.Float64() < l.Loss) {
		return
	}
	d := l.Delay
	if l.Jitter > 0 {
		d += time.Duration(s.rng.Int64N(int64(2*l.Jitter))) - l.Jitter
	}
	ln := s.lanes[[2]int{from, to}]
	at := time.Now().Add(max(d, 0))
	if at.Before(ln.last) {
		at = ln.last
	}
	ln.last = at
	select {
	case ln.queue <- frame{at: at, data: data}:
	default: // a full queue drops, as a real one does
	}
}

func (s *Switch) write(ln *lane, p *port) {
	defer s.wg.Done()
	for fr := range ln.queue {
		if d := time.Until(fr.at); d > 0 {
			time.Sleep(d)
		}
		if _, err := p.f.Write(fr.data); err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return
			}
		}
	}
}

func (s *Switch) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for _, p := range s.ports {
		p.f.Close()
	}
	for _, ln := range s.lanes {
		close(ln.queue)
	}
	s.mu.Unlock()
	s.wg.Wait()
}
