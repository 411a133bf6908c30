package testcluster

import (
	"sync"
	"syscall"
	"testing"
	"time"
)

// Load is what the process did over a window of time: probes the
// region's endpoints answered and the CPU the process used.
type Load struct {
	Window time.Duration
	Probes int64
	CPU    time.Duration // user + system, the whole process
}

// ProbesPerSecond is the rate of probes answered over the window.
func (l Load) ProbesPerSecond() float64 { return float64(l.Probes) / l.Window.Seconds() }

// Cores is the CPU seconds the process used per second of the window.
func (l Load) Cores() float64 { return l.CPU.Seconds() / l.Window.Seconds() }

// CPUPerProbe is the process's CPU per probe answered: checks, endpoints,
// nodes and all.
func (l Load) CPUPerProbe() time.Duration {
	if l.Probes == 0 {
		return 0
	}
	return l.CPU / time.Duration(l.Probes)
}

// MeasureLoad counts the probes answered and the process's CPU over
// window.
func (r *Region) MeasureLoad(window time.Duration) Load {
	p0, c0, t0 := r.served.Load(), processCPU(), time.Now()
	time.Sleep(window)
	return Load{Window: time.Since(t0), Probes: r.served.Load() - p0, CPU: processCPU() - c0}
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
			p0, c0, t0 := r.served.Load(), processCPU(), time.Now()
			select {
			case <-done:
				return
			case <-time.After(window):
			}
			mu.Lock()
			samples = append(samples, Load{Window: time.Since(t0), Probes: r.served.Load() - p0, CPU: processCPU() - c0})
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
			t.Logf("setup %2ds: %.0f probes/s answered of %.0f scheduled, %.2f cores", int(window.Seconds())*(i+1),
				l.ProbesPerSecond(), r.Scheduled(len(Datacenters)), l.Cores())
		}
	})
	return stop
}
