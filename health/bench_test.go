package health

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed3787e6f1/detour/spec"
)

// benchServerEnv makes the test binary a helper process that serves the
// benchmark's HTTP targets, so that the benchmark's CPU figures are the
// checker's alone.
const benchServerEnv = "DETOUR_HEALTH_BENCH_SERVERS"

// TestBenchServerProcess is not a test: run with benchServerEnv set, it
// serves "ok" on that many loopback ports, prints them, and exits when its
// standard input closes.
func TestBenchServerProcess(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(benchServerEnv))
	if n == 0 {
		t.Skip("helper process for BenchmarkEngine10kHTTP")
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: h, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second}
		go srv.Serve(l)
		fmt.Println("ADDR", l.Addr())
	}
	fmt.Println("READY")
	io.Copy(io.Discard, os.Stdin)
}

// BenchmarkEngine10kHTTP runs 10,000 http targets at a 1 s interval
// against loopback servers in a helper process. Each b.N is one second of
// steady state; run it with -benchtime=10x for a ten-second window.
// Reported: probes/s, CPU cores used by this process (the engine), RSS.
// DETOUR_HEALTH_BENCH_TARGETS and DETOUR_HEALTH_BENCH_INTERVAL change the
// targets and the interval (issue 18's size: 30000 at 5s, 6,000 probes/s).
func BenchmarkEngine10kHTTP(b *testing.B) {
	const servers = 16
	targets, interval := 10000, time.Second
	if v, err := strconv.Atoi(os.Getenv("DETOUR_HEALTH_BENCH_TARGETS")); err == nil && v > 0 {
		targets = v
	}
	if v, err := time.ParseDuration(os.Getenv("DETOUR_HEALTH_BENCH_INTERVAL")); err == nil && v > 0 {
		interval = v
	}
	addrs, server := startBenchServers(b, servers)

	c := httpCheckSpec("web")
	c.Interval, c.Timeout, c.Rise, c.Fall = spec.Duration(interval), spec.Duration(500*time.Millisecond), 2, 2
	c.ExpectBody = "ok"
	// DETOUR_HEALTH_BENCH_KEEPALIVE=1 measures keep_alive checks.
	c.KeepAlive = os.Getenv("DETOUR_HEALTH_BENCH_KEEPALIVE") == "1"
	pool := spec.Pool{Name: "p", Datacenter: "dc", Check: "web"}
	for i := range targets {
		pool.Endpoints = append(pool.Endpoints, spec.Endpoint{
			Address:      fmt.Sprintf("198.%d.%d.%d", 18+i/62500, i/250%250, i%250+1), // never dialled: check_address is
			CheckAddress: addrs[i%servers],
		})
	}
	var downs atomic.Int64
	sink := SinkFunc(func(t Transition) {
		if t.To == Down && downs.Add(1) <= 3 {
			fmt.Fprintf(os.Stderr, "down: %v: %s\n", t.Target, t.Reason)
		}
	})
	reg := prometheus.NewRegistry()
	e, err := New(nil, sink, Options{Registerer: reg, Concurrency: benchConcurrency(), AllowNetworks: loopback})
	if err != nil {
		b.Fatal(err)
	}
	e.Update(&spec.Spec{Checks: []spec.Check{c}, Pools: []spec.Pool{pool}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-e.FirstRoundDone():
	case <-time.After(30*time.Second + 3*interval):
		b.Fatalf("first round not done within %s", 30*time.Second+3*interval)
	}
	var latSum, latCount float64
	countProbes := func() int64 {
		mfs, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		var n float64
		for _, mf := range mfs {
			if mf.GetName() == "detour_health_probes_total" {
				for _, m := range mf.GetMetric() {
					n += m.GetCounter().GetValue()
				}
			}
			if mf.GetName() == "detour_health_probe_duration_seconds" {
				h := mf.GetMetric()[0].GetHistogram()
				latSum, latCount = h.GetSampleSum(), float64(h.GetSampleCount())
			}
		}
		return int64(n)
	}
	time.Sleep(time.Second) // steady state
	p0, t0 := countProbes(), time.Now()
	user0, sys0 := cpuTime()
	server0 := procCPU(server)
	sum0, count0 := latSum, latCount
	b.ResetTimer()
	for range b.N {
		time.Sleep(time.Second)
	}
	b.StopTimer()
	elapsed := time.Since(t0)
	probes := countProbes() - p0
	user, sys := cpuTime()
	user, sys = user-user0, sys-sys0
	b.ReportMetric(float64(probes)/elapsed.Seconds(), "probes/s")
	b.ReportMetric((user+sys).Seconds()/elapsed.Seconds(), "cores")
	// The kernel's share: on loopback it includes the target side of
	// every TCP handshake, done in this process's system calls.
	b.ReportMetric(sys.Seconds()/elapsed.Seconds(), "sys-cores")
	// The targets' CPU, for judging whether the machine kept up.
	b.ReportMetric((procCPU(server)-server0).Seconds()/elapsed.Seconds(), "server-cores")
	b.ReportMetric(float64(rssKB())/1024, "RSS-MB")
	b.ReportMetric(1000*(latSum-sum0)/max(1, latCount-count0), "ms/probe")
	b.ReportMetric(0, "ns/op")
	// Targets that went down on a healthy loopback mean the machine could
	// not keep up (probes over their 500ms timeout): report, do not hide.
	b.ReportMetric(float64(downs.Load()), "downs")
}

// startBenchServers starts the helper process with n HTTP servers and
// returns their addresses and the helper's pid. It stops with b.
func startBenchServers(b *testing.B, n int) ([]string, int) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchServerProcess$")
	cmd.Env = append(os.Environ(), benchServerEnv+"="+strconv.Itoa(n))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	var addrs []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "READY" {
		if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) != n {
		b.Fatalf("helper started %d servers, want %d", len(addrs), n)
	}
	return addrs, cmd.Process.Pid
}

// BenchmarkLoopbackHTTPConn is the floor under BenchmarkEngine10kHTTP's
// default mode: the bare cost of one HTTP exchange on a fresh loopback
// connection (dial, write, read the answer, close with a reset), 16 at a
// time, with no engine, no parsing and no context. On loopback
// the kernel does the target's side of the TCP handshake and teardown in
// this process's system calls, and bills it here.
func BenchmarkLoopbackHTTPConn(b *testing.B) {
	addrs, _ := startBenchServers(b, 1)
	req := []byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	user0, sys0 := cpuTime()
	b.SetParallelism(8) // 16 at once on 2 cores, as the engine overlaps probes
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 4096)
		for pb.Next() {
			c, err := net.Dial("tcp", addrs[0])
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := c.Write(req); err != nil {
				b.Error(err)
				return
			}
			for n := 0; !bytes.HasSuffix(buf[:n], []byte("\r\n\r\nok")); { // the whole answer, as a probe reads it
				m, err := c.Read(buf[n:])
				if err != nil {
					b.Errorf("after %q: %v", buf[:n], err)
					return
				}
				n += m
			}
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	})
	b.StopTimer()
	user, sys := cpuTime()
	b.ReportMetric(float64((user-user0).Microseconds())/float64(b.N), "user-µs/conn")
	b.ReportMetric(float64((sys-sys0).Microseconds())/float64(b.N), "sys-µs/conn")
}

// cpuTime is the user and the system CPU this process has used.
func cpuTime() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// procCPU is the user+system CPU process pid has used, from
// /proc/pid/stat.
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	i := strings.LastIndexByte(string(data), ')')
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// rssKB is the resident set size now, from /proc/self/status.
func rssKB() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// benchConcurrency is the engine's limit in the benchmark:
// DETOUR_HEALTH_BENCH_CONCURRENCY, or the default.
func benchConcurrency() int {
	n, _ := strconv.Atoi(os.Getenv("DETOUR_HEALTH_BENCH_CONCURRENCY"))
	return n
}
