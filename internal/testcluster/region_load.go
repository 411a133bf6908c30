package testcluster

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Load is what was done over a window of time: probes the region's
// endpoints answered, the CPU of this process (the nodes: checks, Raft,
// DNS) and of the endpoints' process.
type Load struct {
	Window      time.Duration
	Probes      int64
	CPU         time.Duration // user + system of this process
	EndpointCPU time.Duration // of the endpoints' process
}

// ProbesPerSecond is the rate of probes answered over the window.
func (l Load) ProbesPerSecond() float64 { return float64(l.Probes) / l.Window.Seconds() }

// Cores is the CPU seconds the nodes' process used per second of the
// window.
func (l Load) Cores() float64 { return l.CPU.Seconds() / l.Window.Seconds() }

// EndpointCores is the same for the endpoints' process.
func (l Load) EndpointCores() float64 { return l.EndpointCPU.Seconds() / l.Window.Seconds() }

// CPUPerProbe is the nodes' process's CPU per probe answered.
func (l Load) CPUPerProbe() time.Duration {
	if l.Probes == 0 {
		return 0
	}
	return l.CPU / time.Duration(l.Probes)
}

// String sums the load up.
func (l Load) String() string {
	return fmtLoad(l.ProbesPerSecond(), l.Cores(), l.EndpointCores(), l.CPUPerProbe())
}

// loadMark is where a window starts.
type loadMark struct {
	at         time.Time
	probes     int64
	cpu, epCPU time.Duration
}

func (r *Region) mark() loadMark {
	n, ep := r.ep.count()
	return loadMark{at: time.Now(), probes: n, cpu: processCPU(), epCPU: ep}
}

func (r *Region) since(m loadMark) Load {
	now := r.mark()
	return Load{Window: now.at.Sub(m.at), Probes: now.probes - m.probes, CPU: now.cpu - m.cpu, EndpointCPU: now.epCPU - m.epCPU}
}

// MeasureLoad counts the probes answered and the CPU used over window.
func (r *Region) MeasureLoad(window time.Duration) Load {
	m := r.mark()
	time.Sleep(window)
	return r.since(m)
}

// Scheduled is the probes a second the region's checks ask for: one per
// endpoint and observer each interval.
func (r *Region) Scheduled(observers int) float64 {
	return float64(len(Datacenters)*r.Records*observers) / r.Interval.Seconds()
}

// processCPU is the user and system time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// watchSetup samples the load every window until the returned function
// is called; if the test fails meanwhile (the cluster never settles), it
// logs the samples: how many of the scheduled probes were done.
func (r *Region) watchSetup(t testing.TB, window time.Duration) (stop func()) {
	done := make(chan struct{})
	var samples []Load
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			m := r.mark()
			select {
			case <-done:
				return
			case <-time.After(window):
			}
			l := r.since(m)
			if l.Probes < 0 { // the endpoints' process has ended
				return
			}
			mu.Lock()
			samples = append(samples, l)
			mu.Unlock()
		}
	})
	var once sync.Once
	stop = func() { once.Do(func() { close(done); wg.Wait() }) }
	t.Cleanup(func() {
		stop()
		if !t.Failed() {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for i, l := range samples {
			t.Logf("setup %2ds: %s (%.0f scheduled)", int(window.Seconds())*(i+1), l, r.Scheduled(len(Datacenters)))
		}
	})
	return stop
}

func fmtLoad(probes, cores, epCores float64, perProbe time.Duration) string {
	return fmt.Sprintf("%.0f probes/s answered, nodes %.2f cores (%s CPU per probe), endpoints %.2f cores",
		probes, cores, perProbe.Round(time.Microsecond), epCores)
}
