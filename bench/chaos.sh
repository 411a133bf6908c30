#!/usr/bin/env bash
# chaos.sh: N randomised chaos trials of real agents in network namespaces
# (internal/chaos), and their table in docs/reliability.md.
#
# Each trial starts three `detour agent` processes, one per datacenter
# namespace, with mutual TLS and tokens, 40-120 ms of simulated WAN
# latency (±10 ms, 1% loss) between them, and injects FAULTS faults drawn
# from the trial's seed while two clients write; the timeline (every node
# asked over DNS and the API every 100 ms) and the write history are
# checked against the invariants of docs/reliability.md. Trial k runs seed
# FIRST+k; a failing seed reproduces its schedule:
#   DETOUR_CHAOS_SEED=S go test -run 'TestChaos$' -v ./internal/chaos
#
# Needs root and iproute2 (ip netns). About a minute per trial.
#
# Usage: bench/chaos.sh [N [FIRST [FAULTS]]]   (default: 100, the date's
# seconds, 3). Writes docs/reliability.md's results section; with
# DETOUR_CHAOS_RESULTS=FILE it also keeps each trial's result (JSON lines).
# JOBS=J runs the trials as J streams at once (seeds FIRST.. split into J
# consecutive ranges; each lab takes its own addresses), J times faster
# on a machine with the cores for it; the timing of every trial is as
# sensitive to a starved CPU as the product is.
set -euo pipefail
BENCH=chaos.sh
. "$(dirname "$0")/lib.sh"
cd "$repo"

N=${1:-100}
FIRST=${2:-$(date +%s)}
FAULTS=${3:-3}
need ip iproute2
commit=$(git rev-parse --short HEAD)
results="$tmp/results.jsonl"
go test -c -o "$tmp/chaos.test" ./internal/chaos
cd internal/chaos # the test binary runs in its package directory, as go test does
echo "$BENCH: $N trials from seed $FIRST, $FAULTS faults each, commit $commit" >&2
JOBS=${JOBS:-1}
per=$(((N + JOBS - 1) / JOBS))
start=$FIRST
: >"$results"
for j in $(seq 1 "$JOBS"); do
	n=$((N - (start - FIRST)))
	[ "$n" -gt "$per" ] && n=$per
	[ "$n" -le 0 ] && break
	if [ "$JOBS" -eq 1 ]; then
		DETOUR_CHAOS_TRIALS=$n DETOUR_CHAOS_FIRST=$start DETOUR_CHAOS_FAULTS=$FAULTS DETOUR_CHAOS_OUT="$results" \
			"$tmp/chaos.test" -test.run '^TestChaos$' -test.v -test.timeout 0 2>&1 | tee "$tmp/trials.log" >&2 || true
	else
		DETOUR_CHAOS_TRIALS=$n DETOUR_CHAOS_FIRST=$start DETOUR_CHAOS_FAULTS=$FAULTS DETOUR_CHAOS_OUT="$tmp/stream$j.jsonl" \
			"$tmp/chaos.test" -test.run '^TestChaos$' -test.v -test.timeout 0 >"$tmp/stream$j.log" 2>&1 &
		pids+=($!)
	fi
	start=$((start + n))
done
if [ "$JOBS" -gt 1 ]; then
	for p in "${pids[@]}"; do wait "$p" || true; done
	pids=()
	cat "$tmp"/stream*.log >&2
	cat "$tmp"/stream*.jsonl >>"$results"
fi
DETOUR_CHAOS_REPORT="$results" DETOUR_CHAOS_REPORT_OUT="$tmp/table.md" DETOUR_CHAOS_FIRST=$FIRST DETOUR_CHAOS_COMMIT=$commit \
	"$tmp/chaos.test" -test.run '^TestChaosReport$' >/dev/null
cd "$repo"
if [ -n "${DETOUR_CHAOS_RESULTS:-}" ]; then cp "$results" "$DETOUR_CHAOS_RESULTS"; fi
cat "$tmp/table.md"
# Replace the results section of docs/reliability.md.
awk -v table="$tmp/table.md" '
	/<!-- chaos:begin -->/ { print; while ((getline l < table) > 0) print l; skip = 1; next }
	/<!-- chaos:end -->/ { skip = 0 }
	!skip { print }
' docs/reliability.md > "$tmp/reliability.md"
cp "$tmp/reliability.md" docs/reliability.md
echo "$BENCH: docs/reliability.md updated" >&2
