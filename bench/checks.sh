#!/usr/bin/env bash
# checks.sh: the health engine at 10,000 HTTP endpoints (issue 3's target:
# 10,000 probes/s in under half a core), in both connection modes, and the
# loopback floor under the default mode.
#
# Runs BenchmarkEngine10kHTTP with a connection per probe (the default) and
# with keep_alive, each for SECONDS one-second iterations, then
# BenchmarkLoopbackHTTPConn (a bare dial, write, read, close loop with no
# engine). The targets are served by a helper process, so `cores` is the
# engine's own CPU; `sys-cores` is the kernel's part of it, and
# `server-cores` the helper's, to tell whether the machine kept up.
#
# Usage: bench/checks.sh [seconds [rounds]]   (default: 20 s, 1 round)
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${1:-20}
ROUNDS=${2:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/health.test" ./health
cd health # the test binary runs in its package directory, as go test does

ulimit -n 65536 2>/dev/null || true
for ((r = 1; r <= ROUNDS; r++)); do
  echo "== round $r: a connection per probe (default)"
  "$tmp/health.test" -test.run '^$' -test.bench BenchmarkEngine10kHTTP -test.benchtime="${SECONDS_PER_RUN}x" | grep Benchmark
  echo "== round $r: keep_alive"
  DETOUR_HEALTH_BENCH_KEEPALIVE=1 "$tmp/health.test" -test.run '^$' -test.bench BenchmarkEngine10kHTTP -test.benchtime="${SECONDS_PER_RUN}x" | grep Benchmark
done
echo "== floor: bare loopback HTTP exchange on a fresh connection (per connection; x10,000 for a second's worth)"
"$tmp/health.test" -test.run '^$' -test.bench BenchmarkLoopbackHTTPConn -test.benchtime=50000x -test.count=3 | grep Benchmark
