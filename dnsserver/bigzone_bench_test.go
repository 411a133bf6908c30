package dnsserver

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// bigZoneText is a zone of n A records, as bench/rss-1m.sh writes it.
func bigZoneText(n int) string {
	var b strings.Builder
	b.WriteString("$ORIGIN big.test.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 127.0.0.1\n")
	for i := range n {
		fmt.Fprintf(&b, "h%d IN A 10.%d.%d.%d\n", i, i/65536%256, i/256%256, i%256)
	}
	return b.String()
}

// TestBigZonePhases times each phase of loading a big zone (manual:
// DETOUR_BIGZONE=records).
func TestBigZonePhases(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("DETOUR_BIGZONE"))
	if n == 0 {
		t.Skip("DETOUR_BIGZONE not set")
	}
	dir := t.TempDir()
	os.WriteFile(dir+"/big.zone", []byte(bigZoneText(n)), 0o644)
	os.WriteFile(dir+"/spec.yaml", []byte("zones:\n  - name: big.test\n    file: big.zone\n"), 0o644)
	start, cpu := time.Now(), cpuTime()
	s, err := spec.Load(dir + "/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("load %v (cpu %v)", time.Since(start), cpuTime()-cpu)
	start, cpu = time.Now(), cpuTime()
	y, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("marshal %v (%d bytes)", time.Since(start), len(y))
	for _, level := range []int{gzip.DefaultCompression, gzip.BestSpeed} {
		start, cpu = time.Now(), cpuTime()
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, level)
		zw.Write(y)
		zw.Close()
		t.Logf("gzip level %d: %v (cpu %v), %d bytes", level, time.Since(start), cpuTime()-cpu, buf.Len())
	}
	start, cpu = time.Now(), cpuTime()
	s2, err := spec.Parse(y)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("parse %v (cpu %v)", time.Since(start), cpuTime()-cpu)
	start, cpu = time.Now(), cpuTime()
	zs, err := NewZoneSet(s2)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("zoneset %v (cpu %v)", time.Since(start), cpuTime()-cpu)
	s, y = nil, nil
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("live heap with the parsed spec and zone set: %d MiB", ms.HeapAlloc>>20)
	if f := os.Getenv("DETOUR_BIGZONE_HEAP"); f != "" {
		w, _ := os.Create(f)
		pprof.WriteHeapProfile(w)
		w.Close()
	}
	runtime.KeepAlive(s2)
	runtime.KeepAlive(zs)
}
