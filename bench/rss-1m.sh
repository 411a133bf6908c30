#!/usr/bin/env bash
# rss-1m.sh: memory and load time of detour serving 1,000,000 static records.
#
# Generates a zone of 1,000,000 A records (h0 .. h999999, plus SOA and NS),
# starts `detour agent --dev` on it, waits until the last record answers,
# and prints the load time and the process's resident memory: VmRSS now
# and VmHWM, the peak, which includes parsing the spec. The target is
# below 1 GiB.
#
# Usage: bench/rss-1m.sh [records]      (default 1000000)
# Environment: DETOUR (binary; default: build ./cmd/detour into the temp
# dir), PORT_BASE (default 25400).
set -euo pipefail

N=${1:-1000000}
PORT_BASE=${PORT_BASE:-25400}
DNS_PORT=$PORT_BASE
API_PORT=$((PORT_BASE + 1))

repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
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
cat >"$tmp/spec.yaml" <<EOF
zones:
  - name: $zone
    file: $zone.zone
EOF

DETOUR=${DETOUR:-}
if [ -z "$DETOUR" ]; then
	(cd "$repo" && go build -o "$tmp/detour" ./cmd/detour)
	DETOUR=$tmp/detour
fi

last="h$((N - 1)).$zone"
i=$((N - 1))
want="10.$(((i >> 16) % 256)).$(((i >> 8) % 256)).$((i % 256))"
start=$(date +%s.%N)
"$DETOUR" agent --dev --spec "$tmp/spec.yaml" --dns-addr "127.0.0.1:$DNS_PORT" \
	--api-addr "127.0.0.1:$API_PORT" 2>"$tmp/detour.log" &
pid=$!
for _ in $(seq 1200); do # up to 10 minutes
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "rss-1m: detour exited:" >&2
		cat "$tmp/detour.log" >&2
		exit 1
	fi
	if [ "$(dig @127.0.0.1 -p "$DNS_PORT" +time=1 +tries=1 +short "$last" A 2>/dev/null)" = "$want" ]; then
		break
	fi
	sleep 0.5
done
[ "$(dig @127.0.0.1 -p "$DNS_PORT" +time=1 +tries=1 +short "$last" A)" = "$want" ] || { echo "rss-1m: $last does not answer $want" >&2; exit 1; }
ready=$(date +%s.%N)
sleep 2 # let the collector return what loading left behind
kib() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$pid/status"; }
rss=$(kib VmRSS)
hwm=$(kib VmHWM)
printf "records: %d (zone file %d MiB)\n" "$N" $(($(stat -c %s "$tmp/$zone.zone") >> 20))
awk -v a="$start" -v b="$ready" 'BEGIN { printf "load time (start to first answer of the last record): %.1f s\n", b - a }'
printf "VmRSS: %d MiB   VmHWM (peak): %d MiB   target: < 1024 MiB\n" $((rss >> 10)) $((hwm >> 10))
