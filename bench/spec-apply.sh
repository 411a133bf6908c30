#!/usr/bin/env bash
# spec-apply.sh: applying a 200,000-record spec to a running cluster, and
# what readers see meanwhile.
#
# Runs BenchmarkBigSpecApply (internal/testcluster): three in-process
# nodes on loopback with real Raft over TCP; a spec with a static zone of
# RECORDS A records is proposed through a follower (which parses it
# first, as for a seed spec: the API takes specs up to 1 MiB) while
# another node's View is read every 2 ms and its /v1/status every 20 ms.
# Reported per round:
#
#   apply-s          Propose: parse on the proposer to "in force on it"
#   view-p50/p99/max-ms    a read of the node's View
#   status-p50/p99/max-ms  GET /v1/status on that node
#   *-before-*       the same reads in the 3 s before the apply
#
# The three nodes compile the spec at the same time on the same machine:
# on a machine of N cores each real node has its own.
#
# Usage: bench/spec-apply.sh [records [rounds]]   (default: 200000, 1)
set -euo pipefail
cd "$(dirname "$0")/.."

RECORDS=${1:-200000}
ROUNDS=${2:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/testcluster.test" ./internal/testcluster
cd internal/testcluster # the test binary runs in its package directory, as go test does
DETOUR_BENCH_RECORDS=$RECORDS "$tmp/testcluster.test" -test.run '^$' -test.bench BenchmarkBigSpecApply \
	-test.benchtime=1x -test.count="$ROUNDS" | grep Benchmark
