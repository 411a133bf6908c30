#!/usr/bin/env bash
# dnssec-qps.sh: signed answers, queries per second per server CPU-second:
# detour with DO=1 and DO=0 against Knot DNS serving the same zone signed,
# pre-signed (dnssec-signing: on, automatic key management) and signed
# online (mod-onlinesign), on the same dnsperf runs.
#
# The zone and the query mix are bench/dns-qps.sh's (1,000 records; 80% A,
# 8% AAAA, 4% MX, 3% CNAME, 5% names that do not exist), signed with ECDSA
# P-256 by every server: a CSK (KEYS=csk, the default) or a KSK and a ZSK
# (KEYS=split). The servers are pinned to core 0, dnsperf to core 1; server
# CPU is utime + stime from /proc/PID/stat over each run, and the figure
# compared is qps per server CPU-second (see dns-qps.sh for why).
#
# What differs by design: a name that does not exist costs detour and
# mod-onlinesign a signature per query (compact denial, RFC 9824 / Knot's
# "black lies", signed online), while pre-signed Knot answers it from its
# pre-signed NSEC chain. NX_PERCENT=0 leaves those queries out and measures
# the fast path alone.
#
# Needs (Debian): knot, dnsperf, bind9-dnsutils, util-linux, Go to build
# detour (install knot with a policy-rc.d that exits 101 so it does not
# start as a service).
#
# Usage: bench/dnssec-qps.sh [seconds [rounds]]
#   (default: 3 rounds of 10 s per server and DO setting: about 4 minutes)
# Environment: DETOUR (binary; default: build ./cmd/detour into the temp
# dir), SERVER_CPU (default 0), CLIENT_CPU (default 1), PORT_BASE (default
# 25640), DNSPERF_ARGS (default "-c 2 -q 100 -t 1", as dns-qps.sh), KEYS
# (csk or split), NX_PERCENT (default 5), KNOT_UDP_WORKERS (default 1).
set -euo pipefail

DURATION=${1:-10}
ROUNDS=${2:-3}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT_BASE=${PORT_BASE:-25640}
PRE_PORT=$PORT_BASE
ONLINE_PORT=$((PORT_BASE + 1))
DETOUR_PORT=$((PORT_BASE + 2))
API_PORT=$((PORT_BASE + 3))
DNSPERF_ARGS=${DNSPERF_ARGS:-"-c 2 -q 100 -t 1"}
KEYS=${KEYS:-csk}
NX_PERCENT=${NX_PERCENT:-5}
KNOT_UDP_WORKERS=${KNOT_UDP_WORKERS:-1}
case $KEYS in
csk) single=on ;;
split) single=off ;;
*) echo "dnssec-qps: KEYS=$KEYS: csk or split" >&2; exit 2 ;;
esac

BENCH=dnssec-qps
. "$(dirname "$0")/lib.sh"
need knotd knot
need dnsperf dnsperf
need dig bind9-dnsutils
need taskset util-linux
KNOTD=$(command -v knotd || echo /usr/sbin/knotd)

# --- the zone: dns-qps.sh's 1,000 records ----------------------------------
zone=bench.test
bench_zone "$zone" >"$tmp/$zone.zone"

# --- the queries: 80% A, 8% AAAA, 4% MX, 3% CNAME->A, NX_PERCENT NXDOMAIN --
awk -v z="$zone" -v nx="$NX_PERCENT" 'BEGIN {
	srand(42)
	for (i = 0; i < 100000; i++) {
		r = rand() * 100
		if (r < nx) { printf "nx%d.%s A\n", int(rand() * 100000), z; continue }
		r = rand() * 95
		if (r < 80)      printf "h%d.%s A\n", int(rand() * 800), z
		else if (r < 88) printf "h%d.%s AAAA\n", int(rand() * 100), z
		else if (r < 92) printf "%s MX\n", z
		else             printf "c%d.%s A\n", int(rand() * 50), z
	}
}' >"$tmp/queries"

# --- servers ---------------------------------------------------------------
# knot_conf DIR PORT ZONE-SETTINGS: a knot.conf signing the zone with an
# ECDSA P-256 policy (CSK or KSK+ZSK as KEYS says), keys made by Knot.
knot_conf() {
	mkdir -p "$1/db"
	cat >"$1/knot.conf" <<CONF
server:
  listen: 127.0.0.1@$2
  rundir: $1
  udp-workers: $KNOT_UDP_WORKERS
  tcp-workers: 1
  background-workers: 1
log:
  - target: stderr
    any: warning
database:
  storage: $1/db
policy:
  - id: bench
    algorithm: ecdsap256sha256
    single-type-signing: $single
    nsec3: off
mod-onlinesign:
  - id: bench
    policy: bench
template:
  - id: default
    storage: $tmp
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: $zone
    file: $zone.zone
$3
CONF
}
knot_conf "$tmp/knot-pre" "$PRE_PORT" "    dnssec-signing: on
    dnssec-policy: bench"
knot_conf "$tmp/knot-online" "$ONLINE_PORT" "    module: mod-onlinesign/bench"

detour_binary
keyflags=() keyspec=""
if [ "$KEYS" = split ]; then keyflags=(--keys split) keyspec=", keys: split"; fi
"$DETOUR" dnssec keygen "$zone" --dir "$tmp/keys" "${keyflags[@]}" >/dev/null
cat >"$tmp/spec.yaml" <<EOF2
zones:
  - name: $zone
    file: $zone.zone
    dnssec: {enabled: true$keyspec}
EOF2

# wait_signed PORT: until the server answers the SOA with its RRSIG.
wait_signed() {
	for _ in $(seq 300); do
		dig @127.0.0.1 -p "$1" +time=1 +tries=1 +norec +dnssec "$zone" SOA 2>/dev/null | grep -q 'RRSIG.*SOA' && return 0
		sleep 0.1
	done
	echo "dnssec-qps: no signed answer on port $1" >&2
	return 1
}

hz=$(getconf CLK_TCK)

# run NAME PORT PID FLAGS: dnsperf (FLAGS: -D for DO=1, -e for DO=0)
# against PORT for DURATION seconds; one result line; totals per NAME.
declare -A queries ticks
run() {
	local name=$1 port=$2 pid=$3 flags=$4 t0 t1 out qps lost
	t0=$(cpu_ticks "$pid")
	out=$(taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$tmp/queries" "$flags" -l "$DURATION" $DNSPERF_ARGS)
	t1=$(cpu_ticks "$pid")
	qps=$(awk '/Queries per second/ { print $4 }' <<<"$out")
	lost=$(awk '/Queries lost/ { print $3 }' <<<"$out")
	queries[$name]=$(awk -v a="${queries[$name]:-0}" -v q="$qps" -v d="$DURATION" 'BEGIN { printf "%.0f", a + q * d }')
	ticks[$name]=$((${ticks[$name]:-0} + t1 - t0))
	report "$name" "$qps" $((t1 - t0)) "$DURATION" "lost $lost"
}

report() {
	local cpu
	cpu=$(awk -v t="$3" -v hz="$hz" -v d="$4" 'BEGIN { printf "%.1f", t / hz / d * 100 }')
	per_cpu=$(awk -v q="$2" -v c="$cpu" 'BEGIN { printf "%.0f", q / (c / 100) }')
	printf "%-16s %8.0f qps  %5s%% CPU  %7s qps/CPU-s  (%s)\n" "$1" "$2" "$cpu" "$per_cpu" "$5"
}

echo "zone: 1000 records signed (ECDSA P-256, $KEYS); queries: $NX_PERCENT% NXDOMAIN, the rest 80:8:4:3 A, AAAA, MX, CNAME"
echo "server on CPU $SERVER_CPU, dnsperf on CPU $CLIENT_CPU ($DNSPERF_ARGS), $ROUNDS rounds of ${DURATION}s each"

taskset -c "$SERVER_CPU" "$KNOTD" -c "$tmp/knot-pre/knot.conf" 2>"$tmp/knot-pre.log" &
pre_pid=$!
pids+=("$pre_pid")
taskset -c "$SERVER_CPU" "$KNOTD" -c "$tmp/knot-online/knot.conf" 2>"$tmp/knot-online.log" &
online_pid=$!
pids+=("$online_pid")
GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$DETOUR" agent --dev --spec "$tmp/spec.yaml" --dnssec-key-dir "$tmp/keys" \
	--dns-addr "127.0.0.1:$DETOUR_PORT" --api-addr "127.0.0.1:$API_PORT" 2>"$tmp/detour.log" &
detour_pid=$!
pids+=("$detour_pid")
wait_signed "$PRE_PORT" || { cat "$tmp/knot-pre.log" >&2; exit 1; }
wait_signed "$ONLINE_PORT" || { cat "$tmp/knot-online.log" >&2; exit 1; }
wait_signed "$DETOUR_PORT" || { cat "$tmp/detour.log" >&2; exit 1; }

# name port pid flags, in the order they run each round
runs=(
	"knot-presigned $PRE_PORT $pre_pid -D"
	"knot-presigned-DO0 $PRE_PORT $pre_pid -e"
	"knot-onlinesign $ONLINE_PORT $online_pid -D"
	"knot-onlinesign-DO0 $ONLINE_PORT $online_pid -e"
	"detour $DETOUR_PORT $detour_pid -D"
	"detour-DO0 $DETOUR_PORT $detour_pid -e"
)
for r in "${runs[@]}"; do
	set -- $r
	taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$2" -d "$tmp/queries" "$4" -l 2 $DNSPERF_ARGS >/dev/null
done
for _ in $(seq "$ROUNDS"); do
	for r in "${runs[@]}"; do
		# shellcheck disable=SC2086
		run $r
	done
done

echo "--- all rounds (DO=1 unless -DO0)"
total=$((ROUNDS * DURATION))
declare -A per
for r in "${runs[@]}"; do
	set -- $r
	report "$1" $((queries[$1] / total)) "${ticks[$1]}" "$total" "${queries[$1]} queries"
	per[$1]=$per_cpu
done
ratio() { awk -v a="${per[$2]}" -v b="${per[$3]}" -v l="$1" 'BEGIN { printf "%-58s %.2fx\n", l, a / b }'; }
ratio "detour DO=1 / Knot pre-signed DO=1 (qps per CPU-s):" detour knot-presigned
ratio "detour DO=1 / Knot mod-onlinesign DO=1 (qps per CPU-s):" detour knot-onlinesign
ratio "detour cost of signing, DO=0 / DO=1 (CPU per query):" detour-DO0 detour
ratio "Knot pre-signed cost of signing, DO=0 / DO=1:" knot-presigned-DO0 knot-presigned
ratio "Knot mod-onlinesign cost of signing, DO=0 / DO=1:" knot-onlinesign-DO0 knot-onlinesign
