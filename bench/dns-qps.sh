#!/usr/bin/env bash
# dns-qps.sh: queries per second per server CPU-second, detour vs Knot DNS,
# gdnsd and PowerDNS.
#
# Serves the same 1,000-record zone with Knot DNS, with detour, and, when
# they are installed, with gdnsd and PowerDNS (bind backend) on loopback, pins the server to core 0 and dnsperf to core 1, runs dnsperf
# against each for a fixed time, and prints qps, server CPU and qps per
# server CPU-second. dnsperf on one core cannot always saturate a server on
# the other, so raw qps says little; qps per CPU-second is the figure that
# compares the servers' efficiency.
#
# The query mix is meant to look like an authoritative server's traffic:
# mostly A lookups of existing names, some AAAA, MX at the apex (answer plus
# additional-section glue), CNAMEs followed to an A, and names that do not
# exist (NXDOMAIN with the SOA in authority). Queries carry EDNS0 (-e), as
# resolvers' queries do.
#
# gdnsd (3.x) does not follow a CNAME to its target inside the zone: it
# answers the 3% CNAME queries with the CNAME alone, a slightly smaller
# answer than the others give.
#
# Needs (Debian): knot, dnsperf, bind9-dnsutils, util-linux, Go to build
# detour; optional peers: gdnsd, pdns-server + pdns-backend-bind (install
# them with a policy-rc.d that exits 101 so they do not start as services).
#
# QUERIES=nx makes every query a name that does not exist (a random
# subdomain flood), QUERIES=nodata every query an AAAA of a name with only
# an A record; the default is the mix above.
#
# Usage: bench/dns-qps.sh [seconds [rounds]]
#   (default: 3 rounds of 10 s per server, in turn; about 70 s in all for
#   two servers, 130 s for four)
# Environment: DETOUR (binary; default: build ./cmd/detour into the temp
# dir), SERVER_CPU (default 0), CLIENT_CPU (default 1), PORT_BASE (default
# 25300), DNSPERF_ARGS (dnsperf's load flags, see below), KNOT_UDP_WORKERS
# (default 1: one serving thread per pinned core, as detour has; gdnsd gets
# as many), MODE (see below), PEERS (default
# "gdnsd pdns": the optional peers to run when installed; "" for Knot only),
# DETOUR_ALT (a second detour binary, run beside the first as "alt": an A/B
# of a change in one run, under the same load).
#
# MODE: udp (the default); tcp: pipelined, dnsperf -m tcp keeps each
# client's connection open with up to -q queries in flight on them; tcp1:
# one query per connection, by bench/tcpconn with TCP1_ARGS (default
# "-c 16": 16 connections at once; dnsperf's -O num-queries-per-conn=1
# reconnects too slowly to load a server);
# mix: a UDP dnsperf and a pipelined TCP one at once, at fixed rates of
# MIX_QPS (default 20000) in all, 10% of it over TCP (the share reached is
# printed). Fixed rates, because left free the TCP share depends on each
# server's latency: dnsperf does not set TCP_NODELAY, so with few queries
# in flight its own Nagle delays decide how many go over TCP.
set -euo pipefail

DURATION=${1:-10}
ROUNDS=${2:-3}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT_BASE=${PORT_BASE:-25300}
KNOT_PORT=$PORT_BASE
DETOUR_PORT=$((PORT_BASE + 1))
API_PORT=$((PORT_BASE + 2))
GDNSD_PORT=$((PORT_BASE + 3))
PDNS_PORT=$((PORT_BASE + 4))
ALT_PORT=$((PORT_BASE + 5))
ALT_API_PORT=$((PORT_BASE + 6))
MODE=${MODE:-udp}
PEERS=${PEERS-gdnsd pdns}
# Clients (sockets) and outstanding queries. More than about 100 in flight
# overflows Knot's UDP receive buffer (the kernel default, 208 KiB), and
# every lost query then holds a dnsperf slot until it times out (-t 1),
# which wrecks the run. dnsperf on one core does not always keep the server
# busy, which is why qps per CPU-second, not qps, is the comparison.
DNSPERF_ARGS=${DNSPERF_ARGS:-"-c 2 -q 100 -t 1"}
TCP1_ARGS=${TCP1_ARGS:-"-c 16"}
case $MODE in
udp | tcp) ;;
tcp1) DNSPERF_ARGS="$TCP1_ARGS" ;;
mix)
	MIX_QPS=${MIX_QPS:-20000}
	MIX_UDP="-c 2 -q 90 -t 1 -Q $((MIX_QPS * 9 / 10))"
	MIX_TCP="-c 2 -q 50 -t 1 -Q $((MIX_QPS / 10))"
	DNSPERF_ARGS="UDP $MIX_UDP, TCP $MIX_TCP"
	;;
*) echo "dns-qps: MODE $MODE: want udp, tcp, tcp1 or mix" >&2; exit 1 ;;
esac
KNOT_UDP_WORKERS=${KNOT_UDP_WORKERS:-1}

BENCH=dns-qps
. "$(dirname "$0")/lib.sh"
need knotd knot
need dnsperf dnsperf
need dig bind9-dnsutils
need taskset util-linux
KNOTD=$(command -v knotd || echo /usr/sbin/knotd)
# has NAME PROGRAM: whether an optional peer is asked for and installed.
has() { [[ " $PEERS " == *" $1 "* ]] && { command -v "$2" >/dev/null || [ -x "/usr/sbin/$2" ]; }; }

# --- the zone: SOA, NS and 998 more records = 1,000 -----------------------
zone=bench.test
bench_zone "$zone" >"$tmp/$zone.zone"
records=$(grep -cv '^\$' "$tmp/$zone.zone")
[ "$records" = 1000 ] || { echo "dns-qps: zone has $records records, want 1000" >&2; exit 1; }

# --- the queries ------------------------------------------------------------
# QUERIES=auth (the default): 80% A, 8% AAAA, 4% MX, 3% CNAME->A, 5% NXDOMAIN;
# nx: every query a random name that does not exist (a "random subdomain"
# flood); nodata: AAAA queries for the names that hold only an A record.
QUERIES=${QUERIES:-auth}
case $QUERIES in
auth) mix="80% A, 8% AAAA, 4% MX, 3% CNAME, 5% NXDOMAIN" ;;
nx) mix="100% NXDOMAIN (random names)" ;;
nodata) mix="100% NODATA (AAAA of names with only A)" ;;
*) echo "dns-qps: QUERIES $QUERIES: want auth, nx or nodata" >&2; exit 1 ;;
esac
awk -v z="$zone" -v mix="$QUERIES" 'BEGIN {
	srand(42)
	for (i = 0; i < 100000; i++) {
		r = i % 100
		if (mix == "nx")          printf "nx%d.%s A\n", int(rand() * 10000000), z
		else if (mix == "nodata") printf "h%d.%s AAAA\n", 100 + int(rand() * 700), z
		else if (r < 80)          printf "h%d.%s A\n", int(rand() * 800), z
		else if (r < 88)          printf "h%d.%s AAAA\n", int(rand() * 100), z
		else if (r < 92)          printf "%s MX\n", z
		else if (r < 95)          printf "c%d.%s A\n", int(rand() * 50), z
		else                      printf "nx%d.%s A\n", int(rand() * 100000), z
	}
}' >"$tmp/queries"

# --- servers ---------------------------------------------------------------
mkdir -p "$tmp/knot"
cat >"$tmp/knot/knot.conf" <<EOF
server:
  listen: 127.0.0.1@$KNOT_PORT
  rundir: $tmp/knot
  # One UDP worker for the one core it is pinned to, like detour.
  udp-workers: $KNOT_UDP_WORKERS
  tcp-workers: 1
  background-workers: 1
log:
  - target: stderr
    any: warning
database:
  storage: $tmp/knot/db
template:
  - id: default
    storage: $tmp
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: $zone
    file: $zone.zone
EOF
mkdir -p "$tmp/gdnsd/zones" "$tmp/gdnsd/run" "$tmp/gdnsd/state"
cp "$tmp/$zone.zone" "$tmp/gdnsd/zones/$zone"
cat >"$tmp/gdnsd/config" <<EOF
options => {
  listen => [ 127.0.0.1 ]
  dns_port => $GDNSD_PORT
  udp_threads => $KNOT_UDP_WORKERS
  tcp_threads => 1
  run_dir => $tmp/gdnsd/run
  state_dir => $tmp/gdnsd/state
}
EOF
mkdir -p "$tmp/pdns"
touch "$tmp/pdns/pdns.conf"
echo "zone \"$zone\" { type master; file \"$tmp/$zone.zone\"; };" >"$tmp/pdns/named.conf"
cat >"$tmp/spec.yaml" <<EOF
zones:
  - name: $zone
    file: $zone.zone
EOF

detour_binary
if [ "$MODE" = tcp1 ]; then
	(cd "$repo" && go build -o "$tmp/tcpconn" ./bench/tcpconn)
fi

wait_dns() { # port
	for _ in $(seq 100); do
		dig @127.0.0.1 -p "$1" +time=1 +tries=1 +norec "$zone" SOA >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "dns-qps: no answer on port $1" >&2
	exit 1
}

# cpu_ticks PID: user+system clock ticks of every thread of PID so far.
hz=$(getconf CLK_TCK)

# run NAME PORT PID: dnsperf against PORT for DURATION seconds; prints one
# result line and adds the queries answered and CPU ticks used to the
# totals of NAME.
declare -A queries ticks
run() {
	local name=$1 port=$2 pid=$3 t0 t1 out qps lost note
	t0=$(cpu_ticks "$pid")
	perf_load "$port" "$DURATION" >"$tmp/out"
	t1=$(cpu_ticks "$pid")
	out=$(cat "$tmp/out")
	qps=$(awk '/Queries per second/ { q += $4 } END { print q }' <<<"$out")
	lost=$(awk '/Queries lost/ { l += $3 } END { print l }' <<<"$out")
	note="lost $lost"
	if [ "$MODE" = mix ]; then
		note="$note, TCP $(awk '/Queries per second/ { q[++n] = $4 } END { printf "%.1f%%", q[2] / (q[1] + q[2]) * 100 }' <<<"$out")"
	fi
	queries[$name]=$(awk -v a="${queries[$name]:-0}" -v q="$qps" -v d="$DURATION" 'BEGIN { printf "%.0f", a + q * d }')
	ticks[$name]=$((${ticks[$name]:-0} + t1 - t0))
	report "$name" "$qps" $((t1 - t0)) "$DURATION" "$note"
}

# perf_load PORT SECONDS: the dnsperf load of MODE against PORT; in mix
# mode the UDP run's output comes first, the TCP run's second.
perf_load() {
	local args=(-s 127.0.0.1 -p "$1" -d "$tmp/queries" -e -l "$2")
	case $MODE in
	mix)
		taskset -c "$CLIENT_CPU" dnsperf -m tcp "${args[@]}" $MIX_TCP >"$tmp/out.tcp" &
		taskset -c "$CLIENT_CPU" dnsperf -m udp "${args[@]}" $MIX_UDP
		wait $!
		cat "$tmp/out.tcp"
		;;
	tcp1) taskset -c "$CLIENT_CPU" "$tmp/tcpconn" -s "127.0.0.1:$1" -d "$tmp/queries" -l "$2" $DNSPERF_ARGS ;;
	*) taskset -c "$CLIENT_CPU" dnsperf -m "$MODE" "${args[@]}" $DNSPERF_ARGS ;;
	esac
}

# report NAME QPS TICKS SECONDS NOTE: one line of figures; sets per_cpu.
report() {
	local cpu
	cpu=$(awk -v t="$3" -v hz="$hz" -v d="$4" 'BEGIN { printf "%.1f", t / hz / d * 100 }')
	per_cpu=$(awk -v q="$2" -v c="$cpu" 'BEGIN { printf "%.0f", q / (c / 100) }')
	printf "%-7s %8.0f qps  %5s%% CPU  %7s qps/CPU-s  (%s)\n" "$1" "$2" "$cpu" "$per_cpu" "$5"
}

echo "zone: $records records; queries: $mix; EDNS0; $MODE"
echo "server on CPU $SERVER_CPU, dnsperf on CPU $CLIENT_CPU ($DNSPERF_ARGS), $ROUNDS rounds of ${DURATION}s each"

# names, ports and PIDs of the servers, in the order they run
names=() ports=()
declare -A pid_of
start() { # NAME PORT PID
	names+=("$1")
	ports+=("$2")
	pid_of[$1]=$3
	pids+=("$3")
}

taskset -c "$SERVER_CPU" "$KNOTD" -c "$tmp/knot/knot.conf" 2>"$tmp/knot.log" &
start knot "$KNOT_PORT" $!

# Every query comes from 127.0.0.1: detour's limit of TCP connections per
# client address (16) would shed most of tcp1's 200; Knot, gdnsd and
# PowerDNS have no such limit by default.
DETOUR_FLAGS=(--dns-tcp-max-conns-per-ip 1024)
# GOMAXPROCS=1: the process may use one core only, so more Ps would only add
# scheduler hand-offs and idle spinning between threads fighting for it, and
# the server starts one UDP worker per P.
GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$DETOUR" agent --dev --spec "$tmp/spec.yaml" \
	--dns-addr "127.0.0.1:$DETOUR_PORT" --api-addr "127.0.0.1:$API_PORT" "${DETOUR_FLAGS[@]}" 2>"$tmp/detour.log" &
start detour "$DETOUR_PORT" $!

if [ -n "${DETOUR_ALT:-}" ]; then
	GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$DETOUR_ALT" agent --dev --spec "$tmp/spec.yaml" \
		--dns-addr "127.0.0.1:$ALT_PORT" --api-addr "127.0.0.1:$ALT_API_PORT" "${DETOUR_FLAGS[@]}" 2>"$tmp/alt.log" &
	start alt "$ALT_PORT" $!
fi

if has gdnsd gdnsd; then
	taskset -c "$SERVER_CPU" "$(command -v gdnsd || echo /usr/sbin/gdnsd)" -c "$tmp/gdnsd" start 2>"$tmp/gdnsd.log" &
	start gdnsd "$GDNSD_PORT" $!
else
	echo "gdnsd: skipped (not installed, or not in PEERS)"
fi

if has pdns pdns_server; then
	# PowerDNS as shipped (packet cache on), one receiver and one
	# distributor thread, no security-status poll over the network.
	taskset -c "$SERVER_CPU" "$(command -v pdns_server || echo /usr/sbin/pdns_server)" \
		--config-dir="$tmp/pdns" --socket-dir="$tmp/pdns" --launch=bind \
		--bind-config="$tmp/pdns/named.conf" --local-address=127.0.0.1 \
		--local-port="$PDNS_PORT" --daemon=no --guardian=no --disable-syslog \
		--receiver-threads=1 --distributor-threads=1 --webserver=no \
		--security-poll-suffix= 2>"$tmp/pdns.log" &
	start pdns "$PDNS_PORT" $!
else
	echo "pdns: skipped (not installed, or not in PEERS)"
fi
for port in "${ports[@]}"; do wait_dns "$port"; done

# Warm up (caches, the Go runtime), then take the servers in turn round by
# round, so that whatever else the machine does falls on all alike; an idle
# server on the same core costs nothing.
for port in "${ports[@]}"; do
	perf_load "$port" 2 >/dev/null
done
for r in $(seq "$ROUNDS"); do
	for i in "${!names[@]}"; do
		run "${names[$i]}" "${ports[$i]}" "${pid_of[${names[$i]}]}"
	done
done

echo "--- all rounds"
total=$((ROUNDS * DURATION))
declare -A per
for n in "${names[@]}"; do
	report "$n" $((queries[$n] / total)) "${ticks[$n]}" "$total" "${queries[$n]} queries"
	per[$n]=$per_cpu
done
declare -A label=([knot]=Knot [gdnsd]=gdnsd [pdns]=PowerDNS [alt]=alt)
for n in "${names[@]}"; do
	[ "$n" = detour ] && continue
	awk -v d="${per[detour]}" -v k="${per[$n]}" -v l="${label[$n]}" 'BEGIN { printf "qps per server CPU-second, detour / %s: %.2fx\n", l, d / k }'
done
