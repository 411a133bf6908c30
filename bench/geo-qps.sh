#!/usr/bin/env bash
# geo-qps.sh: the cost of a geo query (EDNS Client Subnet) against a plain
# one, detour vs gdnsd's geoip plugin, on the same MaxMind database and the
# same map of regions to datacenters.
#
# Serves one zone with a static A record (plain) and a geo record (shop:
# EU -> eu-west, US and CA -> us-east, AS -> ap-south, default -> us-east)
# with detour and with gdnsd, pins the server to core 0 and dnsperf to core
# 1, and runs dnsperf: plain queries with EDNS, then geo queries with an
# ECS option for each of four client subnets (EU, US, Asia, unknown; dnsperf
# sends one option per run). Prints qps per server CPU-second for each and
# each server's geo/plain cost ratio (CPU per query).
#
# Usage: bench/geo-qps.sh [seconds]   (default 5 s per run; about 2 min)
# Environment: SERVER_CPU (0), CLIENT_CPU (1), PORT_BASE (25400),
# DNSPERF_ARGS ("-c 2 -q 100 -t 1").
set -euo pipefail

DURATION=${1:-5}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT_BASE=${PORT_BASE:-25400}
GDNSD_PORT=$PORT_BASE
DETOUR_PORT=$((PORT_BASE + 1))
API_PORT=$((PORT_BASE + 2))
DNSPERF_ARGS=${DNSPERF_ARGS:-"-c 2 -q 100 -t 1"}

BENCH=geo-qps
. "$(dirname "$0")/lib.sh"
need gdnsd gdnsd
need dnsperf dnsperf
need dig bind9-dnsutils
need taskset util-linux
GDNSD=$(command -v gdnsd || echo /usr/sbin/gdnsd)

(cd "$repo" && go build -o "$tmp/detour" ./cmd/detour && go run ./bench/geodb "$tmp/geo.mmdb")

# --- gdnsd -------------------------------------------------------------------
mkdir -p "$tmp/gdnsd/zones" "$tmp/gdnsd/run" "$tmp/gdnsd/state"
cat >"$tmp/gdnsd/config" <<EOF
options => {
  listen => [ 127.0.0.1:$GDNSD_PORT ]
  udp_threads => 1
  tcp_threads => 1
  run_dir => $tmp/gdnsd/run
  state_dir => $tmp/gdnsd/state
}
plugins => { geoip => {
  maps => {
    shop => {
      geoip2_db => $tmp/geo.mmdb,
      datacenters => [us-east, eu-west, ap-south],
      map => { EU => [eu-west], NA => { US => [us-east, eu-west], CA => [us-east, eu-west], default => [us-east, eu-west] }, AS => [ap-south], default => [us-east, eu-west] }
    }
  }
  resources => {
    shop => { map => shop, dcmap => { us-east => 192.0.2.1, eu-west => 192.0.2.2, ap-south => 192.0.2.3 } }
  }
}}
EOF
cat >"$tmp/gdnsd/zones/geo.test" <<EOF
@     3600 SOA ns1 hostmaster 1 7200 3600 1209600 300
@     3600 NS ns1
ns1   3600 A 127.0.0.1
plain 3600 A 192.0.2.200
shop  30 DYNA geoip!shop
EOF

# --- detour ------------------------------------------------------------------
cat >"$tmp/spec.yaml" <<EOF
zones:
  - name: geo.test
    soa: {mname: ns1.geo.test., rname: hostmaster.geo.test.}
    nameservers: [ns1.geo.test.]
    static: |
      ns1 IN A 127.0.0.1
      plain IN A 192.0.2.200
geoip: {database: $tmp/geo.mmdb}
datacenters: [{name: us-east}, {name: eu-west}, {name: ap-south}]
pools:
  - {name: pus, datacenter: us-east, endpoints: [{address: 192.0.2.1}]}
  - {name: peu, datacenter: eu-west, endpoints: [{address: 192.0.2.2}]}
  - {name: pap, datacenter: ap-south, endpoints: [{address: 192.0.2.3}]}
records:
  - name: shop.geo.test
    type: A
    policy: geo
    geo:
      - {match: [continent:EU], pools: [peu]}
      - {match: [country:US, country:CA], pools: [pus, peu]}
      - {match: [continent:AS], pools: [pap]}
      - {match: [default], pools: [pus, peu]}
EOF

taskset -c "$SERVER_CPU" "$GDNSD" -c "$tmp/gdnsd" start 2>"$tmp/gdnsd.log" &
gdnsd_pid=$!
pids+=("$gdnsd_pid")
GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$tmp/detour" agent --dev --spec "$tmp/spec.yaml" --geoip-poll 100ms \
	--dns-addr "127.0.0.1:$DETOUR_PORT" --api-addr "127.0.0.1:$API_PORT" 2>"$tmp/detour.log" &
detour_pid=$!
pids+=("$detour_pid")

# ask PORT SUBNET: shop's answer for SUBNET.
ask() { dig @127.0.0.1 -p "$1" +time=1 +tries=1 +short +subnet="$2" shop.geo.test A 2>/dev/null || true; }
for port in "$GDNSD_PORT" "$DETOUR_PORT"; do
	for _ in $(seq 100); do
		[ "$(ask "$port" 10.1.2.0/24)" = 192.0.2.2 ] && break
		sleep 0.1
	done
	[ "$(ask "$port" 10.1.2.0/24)" = 192.0.2.2 ] || { echo "$BENCH: no geo answer on port $port" >&2; cat "$tmp/gdnsd.log" "$tmp/detour.log" >&2; exit 1; }
done

echo "plain.geo.test A" >"$tmp/plain"
echo "shop.geo.test A" >"$tmp/shop"
# ECS option values (dnsperf -E 8:HEX): family, source, scope 0, address.
subnets=(0001180a0102 0001180a0304 0001180a0607 0001180ac801) # 10.1.2/24 EU, 10.3.4/24 US, 10.6.7/24 AS, 10.200.1/24 unknown

hz=$(getconf CLK_TCK)

# measure PORT PID FILE [ECS]: prints "qps ticks" of one run.
measure() {
	local t0 t1 out opt=()
	[ -n "${4:-}" ] && opt=(-E "8:$4")
	t0=$(cpu_ticks "$2")
	out=$(taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$1" -d "$3" -e "${opt[@]}" -l "$DURATION" $DNSPERF_ARGS)
	t1=$(cpu_ticks "$2")
	echo "$(awk '/Queries per second/ { print $4 }' <<<"$out") $((t1 - t0))"
}

# per_cpu QPS TICKS: queries per server CPU-second.
per_cpu() { awk -v q="$1" -v t="$2" -v hz="$hz" -v d="$DURATION" 'BEGIN { printf "%.0f", q * d / (t / hz) }'; }

echo "server on CPU $SERVER_CPU, dnsperf on CPU $CLIENT_CPU ($DNSPERF_ARGS), ${DURATION}s per run"
declare -A plain geo
for name in gdnsd detour; do
	port=$GDNSD_PORT pid=$gdnsd_pid
	[ "$name" = detour ] && port=$DETOUR_PORT pid=$detour_pid
	measure "$port" "$pid" "$tmp/plain" >/dev/null # warm up
	read -r q t < <(measure "$port" "$pid" "$tmp/plain")
	plain[$name]=$(per_cpu "$q" "$t")
	printf "%-7s plain          %8.0f qps  %8s qps/CPU-s\n" "$name" "$q" "${plain[$name]}"
	sum=0
	for s in "${subnets[@]}"; do
		read -r q t < <(measure "$port" "$pid" "$tmp/shop" "$s")
		pc=$(per_cpu "$q" "$t")
		printf "%-7s geo ECS %s %8.0f qps  %8s qps/CPU-s\n" "$name" "$s" "$q" "$pc"
		sum=$((sum + pc))
	done
	geo[$name]=$((sum / ${#subnets[@]}))
done
echo "--- qps per server CPU-second (geo: mean over the subnets)"
for name in gdnsd detour; do
	awk -v n="$name" -v p="${plain[$name]}" -v g="${geo[$name]}" 'BEGIN { printf "%-7s plain %8d  geo %8d  geo query costs %.2fx a plain one\n", n, p, g, p / g }'
done
awk -v d="${geo[detour]}" -v g="${geo[gdnsd]}" 'BEGIN { printf "geo qps per server CPU-second, detour / gdnsd: %.2fx\n", d / g }'
