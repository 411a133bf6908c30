package spec

import (
	"fmt"
)

// Limits of a spec, enforced by Validate on every node and by `detour
// check`. A spec is replicated to every node and compiled on each: these
// bounds keep one valid spec from taking every node's memory or CPU at
// once. docs/spec.md (Limits) says why each number.
const (
	// MaxSpecBytes bounds a spec document, zone files inlined. The API
	// takes 1 MiB plain bodies (MaxBody in internal/api); a larger spec,
	// such as a zone of 1,000,000 records (24 MiB), comes gzip-compressed
	// from an admin token (internal/api's upload.go).
	MaxSpecBytes = 64 << 20
	// MaxZoneTextBytes bounds a zone's text (static: plus the file).
	MaxZoneTextBytes = 32 << 20
	// MaxCAPEMBytes bounds one check's CA bundle.
	MaxCAPEMBytes = 256 << 10
	// MaxZones, MaxDatacenters, MaxChecks, MaxPools, MaxProviders bound
	// the spec's lists.
	MaxZones       = 1_000
	MaxDatacenters = 100
	MaxChecks      = 1_000
	MaxPools       = 30_000
	MaxProviders   = 100
	// MaxEndpoints bounds the endpoints of all pools together.
	MaxEndpoints = 30_000
	// MaxRecords bounds the health-driven records.
	MaxRecords = 10_000
	// MaxStaticRecords bounds the static records of all zones together,
	// $GENERATE expansions included: 2^20, the size measured in docs/
	// benchmarks.md ("Memory with 1,000,000 records": 853 MiB steady,
	// 1.5 GiB peak while loading) with room for its apex records.
	MaxStaticRecords = 1 << 20
	// MaxProbeRate bounds the probes each node sends per second: the sum
	// over pools of endpoints/interval of their (active) check.
	MaxProbeRate = 10_000
)

// Probe costs measured by the health engine's benchmark (docs/
// benchmarks.md, "Health checks: 10,000 HTTP endpoints on one node"):
// CPU time per probe, engine and kernel, on a 2.5 GHz Xeon vCPU.
const (
	// ProbeCostPerConn is a probe with a new connection (the default):
	// 0.88 cores at 10,000 probes/s.
	ProbeCostPerConn = 88e-6
	// ProbeCostKeepAlive is an HTTP probe reusing its connection: 0.39
	// cores at 10,000 probes/s.
	ProbeCostKeepAlive = 39e-6
	// LintProbeCores is the share of one core the checks may take before
	// Lint warns: the rest of the core serves DNS.
	LintProbeCores = 0.25
)

// validateCounts refuses a spec whose lists are over the limits, before
// anything is built from them.
func (s *Spec) validateCounts(e *Error) {
	endpoints := 0
	for _, p := range s.Pools {
		endpoints += len(p.Endpoints)
	}
	for _, c := range []struct {
		path  string
		n     int
		limit int
	}{
		{"zones", len(s.Zones), MaxZones},
		{"datacenters", len(s.Datacenters), MaxDatacenters},
		{"checks", len(s.Checks), MaxChecks},
		{"pools", len(s.Pools), MaxPools},
		{"pools[*].endpoints", endpoints, MaxEndpoints},
		{"records", len(s.Records), MaxRecords},
		{"providers", len(s.Providers), MaxProviders},
	} {
		if c.n > c.limit {
			e.add(c.path, "%d is over the limit of %d (see docs/spec.md, Limits)", c.n, c.limit)
		}
	}
	for i, z := range s.Zones {
		if n := len(z.Static) + len(z.FileText); n > MaxZoneTextBytes {
			e.add(fmt.Sprintf("zones[%d]", i), "the zone text (static and file) is %d bytes, over the limit of %d (see docs/spec.md, Limits)", n, MaxZoneTextBytes)
		}
	}
	for i, c := range s.Checks {
		if len(c.CAPEM) > MaxCAPEMBytes {
			e.add(fmt.Sprintf("checks[%d].ca_pem", i), "%d bytes is over the limit of %d", len(c.CAPEM), MaxCAPEMBytes)
		}
	}
}

// ProbeRate returns the probes per second each node sends for the spec:
// every node probes every endpoint of every pool with an active check
// (heartbeat checks are passive) once per interval. It expects a
// validated spec (defaults filled).
func (s *Spec) ProbeRate() float64 {
	rate, _ := s.probeLoad()
	return rate
}

// probeLoad returns the probe rate and its estimated CPU cost in cores,
// from the benchmark's per-probe costs.
func (s *Spec) probeLoad() (rate, cores float64) {
	checks := map[string]*Check{}
	for i := range s.Checks {
		checks[s.Checks[i].Name] = &s.Checks[i]
	}
	for _, p := range s.Pools {
		c := checks[p.Check]
		if c == nil || c.Type == CheckHeartbeat || c.Interval <= 0 {
			continue
		}
		r := float64(len(p.Endpoints)) / c.Interval.D().Seconds()
		rate += r
		cost := ProbeCostPerConn
		if c.KeepAlive {
			cost = ProbeCostKeepAlive
		}
		cores += r * cost
	}
	return rate, cores
}

// validateProbeRate refuses a spec whose checks would probe more than
// MaxProbeRate times a second from each node.
func (s *Spec) validateProbeRate(e *Error) {
	if rate := s.ProbeRate(); rate > MaxProbeRate {
		e.add("checks", "the pools' checks send %.0f probes per second from each node, over the limit of %d: lengthen intervals or check fewer endpoints (see docs/spec.md, Limits)", rate, MaxProbeRate)
	}
}

// lintProbeLoad warns when the checks would take more than
// LintProbeCores of a core on each node.
func (s *Spec) lintProbeLoad() []Problem {
	rate, cores := s.probeLoad()
	if cores <= LintProbeCores {
		return nil
	}
	return []Problem{{Path: "checks", Message: fmt.Sprintf(
		"%.0f probes per second from each node: about %.2f of a core (%.0f µs a probe, %.0f µs with keep_alive, as measured in docs/benchmarks.md), above %.0f%% of a core, which DNS answers share: lengthen intervals, check fewer endpoints or set keep_alive",
		rate, cores, ProbeCostPerConn*1e6, ProbeCostKeepAlive*1e6, LintProbeCores*100)}}
}
