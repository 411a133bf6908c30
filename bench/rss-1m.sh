#!/usr/bin/env bash
# rss-1m.sh: memory and load time of detour serving 1,000,000 static
# records, on every node of a three-node cluster.
#
# Generates a zone of 1,000,000 A records (h0 .. h999999, plus SOA and
# NS), starts three `detour agent` processes on loopback (real Raft over
# TCP, plaintext with --insecure) each with the zone as its --spec, waits
# until the last record answers on every node, and prints for each node
# (the leader and the two followers) its load time, the CPU time it used
# until then, and its resident memory: VmRSS two and ten seconds after it
# answered, and VmHWM, the peak, which includes parsing the spec. Targets (issue 18): under 5 s, under 512 MiB
# steady, under 1 GiB peak, on every node.
#
# Usage: bench/rss-1m.sh [records]      (default 1000000)
# Environment: DETOUR (binary; default: build ./cmd/detour into the temp
# dir), PORT_BASE (default 25400; uses PORT_BASE .. PORT_BASE+8),
# NODES (1 runs one `detour agent --dev` instead, as before; default 3).
set -euo pipefail

N=${1:-1000000}
PORT_BASE=${PORT_BASE:-25400}
NODES=${NODES:-3}

repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
pids=()
pollers=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -n "${KEEP:-}" ]; then echo "rss-1m: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT INT TERM

command -v dig >/dev/null || { echo "rss-1m: dig is not installed (apt-get install bind9-dnsutils)" >&2; exit 1; }

zone=big.test
awk -v n="$N" -v z="$zone" 'BEGIN {
	print "$ORIGIN " z "."
	print "$TTL 3600"
	print "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300"
	print "@ IN NS ns1"
	print "ns1 IN A 127.0.0.1"
	for (i = 0; i < n; i++) printf "h%d IN A 10.%d.%d.%d\n", i, int(i / 65536) % 256, int(i / 256) % 256, i % 256
}' >"$tmp/$zone.zone"
cat >"$tmp/spec.yaml" <<EOS
zones:
  - name: $zone
    file: $zone.zone
EOS
if [ "$NODES" != 1 ]; then
	echo "datacenters: [{name: dc1}, {name: dc2}, {name: dc3}]" >>"$tmp/spec.yaml"
fi

DETOUR=${DETOUR:-}
if [ -z "$DETOUR" ]; then
	(cd "$repo" && go build -o "$tmp/detour" ./cmd/detour)
	DETOUR=$tmp/detour
fi

last="h$((N - 1)).$zone"
i=$((N - 1))
want="10.$(((i >> 16) % 256)).$(((i >> 8) % 256)).$((i % 256))"

ids=()
dns=()
peers=
for n in $(seq 1 "$NODES"); do
	ids+=("n$n")
	dns+=($((PORT_BASE + 3 * (n - 1))))
	peers="$peers${peers:+,}n$n@127.0.0.1:$((PORT_BASE + 3 * (n - 1) + 2))"
done

start=$(date +%s.%N)
for k in "${!ids[@]}"; do
	id=${ids[$k]}
	d=${dns[$k]}
	if [ "$NODES" = 1 ]; then
		"$DETOUR" agent --dev --spec "$tmp/spec.yaml" --dns-addr "127.0.0.1:$d" \
			--api-addr "127.0.0.1:$((d + 1))" 2>"$tmp/$id.log" &
	else
		"$DETOUR" agent --node-id "$id" --datacenter "dc$((k + 1))" --raft-addr "127.0.0.1:$((d + 2))" \
			--peers "$peers" --dns-addr "127.0.0.1:$d" --api-addr "127.0.0.1:$((d + 1))" \
			--data-dir "$tmp/data-$id" --spec "$tmp/spec.yaml" --insecure 2>"$tmp/$id.log" &
	fi
	pids+=($!)
done

answers() { [ "$(dig @127.0.0.1 -p "$1" +time=1 +tries=1 +short "$last" A 2>/dev/null)" = "$want" ]; }
kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }
# One poller per node, so that a slow node does not delay noticing
# another: each writes the time its node first answered.
for k in "${!ids[@]}"; do
	(
		for _ in $(seq 12000); do # up to 20 minutes
			kill -0 "${pids[$k]}" 2>/dev/null || exit 1
			if answers "${dns[$k]}"; then
				date +%s.%N >"$tmp/${ids[$k]}.ready"
				# CPU seconds (utime + stime) the node used until then:
				# the figure a loaded machine does not stretch.
				awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f\n", ($14 + $15) / hz }' "/proc/${pids[$k]}/stat" >"$tmp/${ids[$k]}.cpu"
				exit 0
			fi
			sleep 0.1
		done
		exit 1
	) &
	pollers+=($!)
done
for k in "${!ids[@]}"; do
	if ! wait "${pollers[$k]}"; then
		echo "rss-1m: ${ids[$k]} never answered $last $want:" >&2
		tail -20 "$tmp/${ids[$k]}.log" >&2
		exit 1
	fi
done
declare -A ready=() rss=() hwm=()
for id in "${ids[@]}"; do ready[$id]=$(cat "$tmp/$id.ready"); done
declare -A rss10=()
sleep 2 # let the collector return what loading left behind
for k in "${!ids[@]}"; do
	rss[${ids[$k]}]=$(kib "${pids[$k]}" VmRSS)
done
sleep 8 # and again, settled
for k in "${!ids[@]}"; do
	rss10[${ids[$k]}]=$(kib "${pids[$k]}" VmRSS)
	hwm[${ids[$k]}]=$(kib "${pids[$k]}" VmHWM)
	if [ -n "${KEEP:-}" ]; then cat "/proc/${pids[$k]}/smaps_rollup" >"$tmp/${ids[$k]}.smaps"; fi
done
printf "records: %d (zone file %d MiB), %d node(s), load average %s\n" "$N" $(($(stat -c %s "$tmp/$zone.zone") >> 20)) "$NODES" "$(cut -d' ' -f1-3 /proc/loadavg)"
for k in "${!ids[@]}"; do
	id=${ids[$k]}
	role=follower
	if [ "$NODES" = 1 ] || [ "$(grep -c "entering leader state" "$tmp/$id.log")" -gt 0 ]; then role="leader at some time"; fi
	awk -v id="$id" -v role="$role" -v a="$start" -v b="${ready[$id]}" -v r="${rss[$id]}" -v r10="${rss10[$id]}" -v h="${hwm[$id]}" -v c="$(cat "$tmp/$id.cpu")" 'BEGIN {
		printf "%s (%s): load %.1f s (start to the last record answering; %s CPU-s), VmRSS %d MiB 2 s later, %d MiB 10 s later, VmHWM (peak) %d MiB\n", id, role, b - a, c, r / 1024, r10 / 1024, h / 1024 }'
done
echo "targets: load < 5 s, VmRSS < 512 MiB, VmHWM < 1024 MiB, on every node"
